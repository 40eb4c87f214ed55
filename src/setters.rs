//! Builder-style setters for the library's configuration structs. Each of those structs is
//! `#[non_exhaustive]`, so code outside the crate cannot write it as a literal and a field
//! added later breaks nobody: it starts from `default()` (or a constructor) and sets what it
//! needs, as in `ExhaustiveConfig::default().threads(2).max_depth(40)`.

/// One setter per named field: `fn field(self, value) -> Self`.
macro_rules! setters {
    ($ty:ty { $($field:ident : $fty:ty),* $(,)? }) => {
        impl $ty {
            $(
                #[doc = concat!("This value with `", stringify!($field), "` set to `", stringify!($field), "` (see the field).")]
                #[must_use]
                pub fn $field(mut self, $field: $fty) -> Self {
                    self.$field = $field;
                    self
                }
            )*
        }
    };
}
