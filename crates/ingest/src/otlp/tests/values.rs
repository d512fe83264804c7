use crate::otlp::proto::{AnyValue, ArrayValue, KeyValue, KeyValueList, any_value::Value};
use crate::otlp::values::value_string;

fn any(value: Value) -> AnyValue {
    AnyValue { value: Some(value) }
}

#[test]
fn scalars_match_pdata_as_string() {
    let cases = [
        (Value::StringValue("a b".into()), "a b"),
        (Value::BoolValue(true), "true"),
        (Value::IntValue(-42), "-42"),
        (Value::DoubleValue(1.5), "1.5"),
        (Value::DoubleValue(100.0), "100"),
        (Value::DoubleValue(1e21), "1e+21"),
        (Value::DoubleValue(1.5e-7), "1.5e-7"),
        (Value::DoubleValue(f64::NAN), "json: unsupported value: NaN"),
        (Value::BytesValue(b"hi".to_vec()), "aGk="),
    ];
    for (value, expected) in cases {
        assert_eq!(value_string(Some(&any(value))), expected);
    }
    assert_eq!(value_string(None), "");
    assert_eq!(value_string(Some(&AnyValue { value: None })), "");
}

#[test]
fn arrays_and_kvlists_are_go_json() {
    let array = any(Value::ArrayValue(ArrayValue {
        values: vec![
            any(Value::StringValue("<a&b>".into())),
            any(Value::IntValue(1)),
            AnyValue { value: None },
            any(Value::DoubleValue(2.0)),
        ],
    }));
    assert_eq!(
        value_string(Some(&array)),
        r#"["\u003ca\u0026b\u003e",1,null,2]"#
    );
    let kv = |key: &str, value: Value| KeyValue {
        key: key.into(),
        value: Some(any(value)),
    };
    let list = any(Value::KvlistValue(KeyValueList {
        values: vec![
            kv("z", Value::BoolValue(false)),
            kv("a", Value::StringValue("x\n".into())),
            kv("z", Value::IntValue(3)),
        ],
    }));
    assert_eq!(value_string(Some(&list)), r#"{"a":"x\n","z":3}"#);
    let bad = any(Value::ArrayValue(ArrayValue {
        values: vec![any(Value::DoubleValue(f64::INFINITY))],
    }));
    assert_eq!(value_string(Some(&bad)), "");
}
