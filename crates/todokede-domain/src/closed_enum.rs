//! Closed lists (届出者種別, 被害内容, …) share one shape: a stable machine key used on the wire
//! and in the database, a Japanese label (primary) and an English label.

/// A value from one of the forms' closed lists.
pub trait ClosedEnum: Sized + Copy + 'static {
    /// Every value, in the order the form lists them.
    const ALL: &'static [Self];
    /// Stable snake_case key, used in JSON, the database and the CLI.
    fn key(self) -> &'static str;
    fn label_ja(self) -> &'static str;
    fn label_en(self) -> &'static str;
    /// The label in `lang`.
    fn label(self, lang: crate::Language) -> &'static str {
        lang.pick(self.label_ja(), self.label_en())
    }
    /// Parse a key (exact) or a Japanese/English label (as written on the paper form; a
    /// Japanese label with ASCII brackets, as older forms printed them, is the same label).
    fn parse(s: &str) -> Result<Self, UnknownKey> {
        let t = s.trim();
        let wide = t.replace('(', "（").replace(')', "）");
        Self::ALL
            .iter()
            .copied()
            .find(|v| v.key() == t || v.label_ja() == wide || v.label_en().eq_ignore_ascii_case(t))
            .ok_or_else(|| UnknownKey {
                kind: std::any::type_name::<Self>().rsplit("::").next().unwrap_or("value"),
                value: t.chars().take(64).collect(),
                allowed: Self::ALL.iter().map(|v| v.key()).collect(),
            })
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {kind} `{value}`; expected one of: {}", allowed.join(", "))]
pub struct UnknownKey {
    pub kind: &'static str,
    pub value: String,
    pub allowed: Vec<&'static str>,
}

/// Declares a closed enum: `Variant => ("key", "日本語", "English")`.
#[macro_export]
macro_rules! closed_enum {
    ($(#[$m:meta])* $name:ident { $($(#[$vm:meta])* $v:ident => ($k:literal, $ja:literal, $en:literal)),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name { $($(#[$vm])* $v),+ }
        impl $crate::ClosedEnum for $name {
            const ALL: &'static [Self] = &[$(Self::$v),+];
            fn key(self) -> &'static str { match self { $(Self::$v => $k),+ } }
            fn label_ja(self) -> &'static str { match self { $(Self::$v => $ja),+ } }
            fn label_en(self) -> &'static str { match self { $(Self::$v => $en),+ } }
        }
        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str($crate::ClosedEnum::key(*self))
            }
        }
        impl std::str::FromStr for $name {
            type Err = $crate::UnknownKey;
            fn from_str(s: &str) -> Result<Self, Self::Err> { <Self as $crate::ClosedEnum>::parse(s) }
        }
    };
}
