//! The scalar rules of OTLP/JSON (`docs/specification.md`, "JSON Protobuf Encoding"): 64-bit
//! integers arrive as decimal strings or as numbers, doubles may be `"NaN"`/`"Infinity"`,
//! enums are integers (names are accepted too, as proto3 JSON parsers do), trace and span ids are
//! hex (not base64), and `null` means the field's default.

use std::fmt;
use std::marker::PhantomData;

use serde::de::{self, Deserialize, Deserializer, SeqAccess, Visitor};

/// Any integer from a JSON number or string, range-checked into `T`.
struct IntegerVisitor<T>(PhantomData<T>);

impl<T: TryFrom<i128>> IntegerVisitor<T> {
    fn fit<E: de::Error>(value: i128) -> Result<T, E> {
        T::try_from(value).map_err(|_| E::custom(format!("integer {value} is out of range")))
    }
}

impl<'de, T: TryFrom<i128> + Default> Visitor<'de> for IntegerVisitor<T> {
    type Value = T;

    fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("an integer, as a number or a decimal string")
    }

    fn visit_u64<E: de::Error>(self, value: u64) -> Result<T, E> {
        Self::fit(i128::from(value))
    }

    fn visit_i64<E: de::Error>(self, value: i64) -> Result<T, E> {
        Self::fit(i128::from(value))
    }

    fn visit_f64<E: de::Error>(self, value: f64) -> Result<T, E> {
        // `1e3` and `5.0` are integers in proto3 JSON; `5.5` is not.
        if value.fract() == 0.0 && value.abs() < 1.9e19 {
            Self::fit(value as i128)
        } else {
            Err(E::custom(format!("{value} is not an integer")))
        }
    }

    fn visit_str<E: de::Error>(self, value: &str) -> Result<T, E> {
        match value.parse::<i128>() {
            Ok(parsed) => Self::fit(parsed),
            Err(_) => match value.parse::<f64>() {
                Ok(float) if float.is_finite() => self.visit_f64(float),
                _ => Err(E::custom(format!("{value:?} is not an integer"))),
            },
        }
    }

    fn visit_unit<E: de::Error>(self) -> Result<T, E> {
        Ok(T::default())
    }
}

/// A double from a JSON number, a numeric string, or `"NaN"`, `"Infinity"`, `"-Infinity"`.
struct FloatVisitor;

impl<'de> Visitor<'de> for FloatVisitor {
    type Value = f64;

    fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("a number, \"NaN\", \"Infinity\" or \"-Infinity\"")
    }

    fn visit_f64<E: de::Error>(self, value: f64) -> Result<f64, E> {
        Ok(value)
    }

    fn visit_u64<E: de::Error>(self, value: u64) -> Result<f64, E> {
        Ok(value as f64)
    }

    fn visit_i64<E: de::Error>(self, value: i64) -> Result<f64, E> {
        Ok(value as f64)
    }

    fn visit_str<E: de::Error>(self, value: &str) -> Result<f64, E> {
        match value {
            "NaN" => Ok(f64::NAN),
            "Infinity" => Ok(f64::INFINITY),
            "-Infinity" => Ok(f64::NEG_INFINITY),
            _ => value
                .parse::<f64>()
                .ok()
                .filter(|parsed| parsed.is_finite())
                .ok_or_else(|| E::custom(format!("{value:?} is not a number"))),
        }
    }

    fn visit_unit<E: de::Error>(self) -> Result<f64, E> {
        Ok(0.0)
    }
}

/// A scalar read with the lenient rules above, usable inside `Vec` and `Option`.
#[derive(Debug, Default, Clone, Copy)]
pub(super) struct Lenient<T>(pub T);

macro_rules! lenient_integer {
    ($($t:ty),*) => {$(
        impl<'de> Deserialize<'de> for Lenient<$t> {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                deserializer.deserialize_any(IntegerVisitor::<$t>(PhantomData)).map(Lenient)
            }
        }
    )*};
}
lenient_integer!(u64, i64, u32, i32);

impl<'de> Deserialize<'de> for Lenient<f64> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(FloatVisitor).map(Lenient)
    }
}

/// A scalar field (`null` is the default).
pub(super) fn scalar<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    Lenient<T>: Deserialize<'de>,
{
    Lenient::<T>::deserialize(deserializer).map(|value| value.0)
}

/// An `optional` scalar field (`null` is unset).
pub(super) fn optional<'de, D, T>(deserializer: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    Lenient<T>: Deserialize<'de>,
{
    Option::<Lenient<T>>::deserialize(deserializer).map(|value| value.map(|value| value.0))
}

/// A repeated scalar field (`null` is empty).
pub(super) fn list<'de, D, T>(deserializer: D) -> Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    Lenient<T>: Deserialize<'de>,
{
    struct ListVisitor<T>(PhantomData<T>);

    impl<'de, T> Visitor<'de> for ListVisitor<T>
    where
        Lenient<T>: Deserialize<'de>,
    {
        type Value = Vec<T>;

        fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
            formatter.write_str("an array")
        }

        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<T>, A::Error> {
            // No `size_hint` preallocation: the body's length already bounds the list.
            let mut out = Vec::new();
            while let Some(Lenient(value)) = seq.next_element::<Lenient<T>>()? {
                out.push(value);
            }
            Ok(out)
        }

        fn visit_unit<E: de::Error>(self) -> Result<Vec<T>, E> {
            Ok(Vec::new())
        }
    }

    deserializer.deserialize_any(ListVisitor(PhantomData))
}

/// Any other field where `null` means the default (strings, bools, messages, lists of messages).
pub(super) fn nullable<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Option::<T>::deserialize(deserializer).map(Option::unwrap_or_default)
}

/// `AggregationTemporality`: an integer, or (leniently) its name.
pub(super) fn temporality<'de, D: Deserializer<'de>>(deserializer: D) -> Result<i32, D::Error> {
    #[derive(serde::Deserialize)]
    #[serde(untagged)]
    enum Raw {
        Number(Lenient<i32>),
        Name(String),
    }
    match Option::<Raw>::deserialize(deserializer)? {
        None => Ok(0),
        Some(Raw::Number(Lenient(number))) => Ok(number),
        Some(Raw::Name(name)) => match name.as_str() {
            "AGGREGATION_TEMPORALITY_UNSPECIFIED" => Ok(0),
            "AGGREGATION_TEMPORALITY_DELTA" => Ok(1),
            "AGGREGATION_TEMPORALITY_CUMULATIVE" => Ok(2),
            _ => Err(de::Error::custom(format!(
                "unknown aggregationTemporality {name:?}"
            ))),
        },
    }
}

/// `traceId` / `spanId`: hex, any case (OTLP's one deviation from proto3 JSON's base64).
pub(super) fn hex<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<u8>, D::Error> {
    let text = Option::<String>::deserialize(deserializer)?.unwrap_or_default();
    if !text.len().is_multiple_of(2) {
        return Err(de::Error::custom(format!("id {text:?} is not hex")));
    }
    let digit = |byte: u8| char::from(byte).to_digit(16);
    text.as_bytes()
        .chunks(2)
        .map(|pair| match (digit(pair[0]), digit(pair[1])) {
            (Some(high), Some(low)) => Ok((high * 16 + low) as u8),
            _ => Err(de::Error::custom(format!("id {text:?} is not hex"))),
        })
        .collect()
}

/// `bytesValue`: base64, standard or URL-safe.
pub(super) fn base64<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<Vec<u8>>, D::Error> {
    match Option::<String>::deserialize(deserializer)? {
        None => Ok(None),
        Some(text) => decode_base64(&text).map(Some).map_err(de::Error::custom),
    }
}

/// Standard or URL-safe alphabet, padding optional: proto3 JSON parsers accept all four forms.
fn decode_base64(text: &str) -> Result<Vec<u8>, String> {
    use ::base64::Engine;
    use ::base64::engine::DecodePaddingMode;
    use ::base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
    const LENIENT: GeneralPurposeConfig =
        GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent);
    const STANDARD: GeneralPurpose = GeneralPurpose::new(&::base64::alphabet::STANDARD, LENIENT);
    const URL_SAFE: GeneralPurpose = GeneralPurpose::new(&::base64::alphabet::URL_SAFE, LENIENT);
    STANDARD
        .decode(text)
        .or_else(|_| URL_SAFE.decode(text))
        .map_err(|error| format!("invalid base64 in bytesValue: {error}"))
}
