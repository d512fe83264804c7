use super::*;

fn headers(content_type: Option<&str>, encoding: Option<&str>) -> HeaderMap {
    let mut headers = HeaderMap::new();
    if let Some(value) = content_type {
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_str(value).unwrap());
    }
    if let Some(value) = encoding {
        headers.insert(
            header::CONTENT_ENCODING,
            HeaderValue::from_str(value).unwrap(),
        );
    }
    headers
}

#[test]
fn the_content_type_chooses_the_version() {
    let cases = [
        (None, Version::V1),
        (Some("application/x-protobuf"), Version::V1),
        (
            Some("application/x-protobuf;proto=prometheus.WriteRequest"),
            Version::V1,
        ),
        (
            Some("application/x-protobuf;proto=io.prometheus.write.v2.Request"),
            Version::V2,
        ),
        (
            Some("application/x-protobuf; charset=utf-8; PROTO=\"io.prometheus.write.v2.Request\""),
            Version::V2,
        ),
    ];
    for (content_type, version) in cases {
        assert_eq!(
            version_of(&headers(content_type, Some("snappy"))).unwrap(),
            version,
            "{content_type:?}"
        );
    }
    let unknown = version_of(&headers(
        Some("application/x-protobuf;proto=io.prometheus.write.v3.Request"),
        None,
    ))
    .unwrap_err();
    assert_eq!(unknown.kind, ErrorKind::UnsupportedMediaType);
    assert!(unknown.message.contains("v3"), "{}", unknown.message);
    let gzip = version_of(&headers(None, Some("gzip"))).unwrap_err();
    assert_eq!(gzip.kind.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
}

#[test]
fn long_texts_are_cut_at_character_boundaries() {
    assert_eq!(truncated("héllo".into(), 2), "h");
    assert_eq!(truncated("héllo".into(), 3), "hé");
    assert_eq!(truncated("abc".into(), 10), "abc");
}
