use serde_json::json;

use super::*;

fn pattern(s: &str) -> PathPattern {
    s.parse().unwrap()
}

fn matches(p: &PathPattern, path: &str) -> bool {
    p.matches(&segments(path))
}

fn schema(document: Value) -> Schema {
    Schema::compile(&document).unwrap()
}

fn endpoint(method: Option<Method>, path: &str, body: Option<Value>, query: Option<Value>) -> Endpoint {
    Endpoint { method, path: pattern(path), body_schema: body.map(schema), query_schema: query.map(schema) }
}

fn parts(method: Method, uri: &str, content_type: Option<&str>) -> Parts {
    let mut request = axum::http::Request::builder().method(method).uri(uri);
    if let Some(ct) = content_type {
        request = request.header(header::CONTENT_TYPE, ct);
    }
    request.body(()).unwrap().into_parts().0
}

async fn refusal(result: Result<Body, GatewayError>) -> (u16, Value) {
    let Err(e) = result else { panic!("expected a refusal") };
    let response = axum::response::IntoResponse::into_response(e);
    let status = response.status().as_u16();
    let bytes = axum::body::to_bytes(response.into_body(), 1 << 16).await.unwrap();
    (status, serde_json::from_slice(&bytes).unwrap())
}

#[test]
fn parameters_match_exactly_one_segment_and_literals_match_themselves() {
    let p = pattern("/orders/{id}/items");
    assert!(matches(&p, "/orders/7/items"));
    assert!(matches(&p, "/orders/abc-def/items"));
    assert!(!matches(&p, "/orders/items"));
    assert!(!matches(&p, "/orders/7/8/items"));
    assert!(!matches(&p, "/orders/7/itemsx"));
    assert!(!matches(&p, "/Orders/7/items"));
    assert!(matches(&pattern("/"), "/"));
    assert!(!matches(&pattern("/"), "/x"));
}

#[test]
fn spelling_a_path_differently_does_not_escape_its_pattern() {
    let p = pattern("/orders/{id}");
    for path in ["/orders/7/", "//orders//7", "/%6Frders/7", "/x/../orders/7", "/./orders/7", "/orders/%2e/7"] {
        assert!(matches(&p, path), "{path}");
    }
}

#[test]
fn malformed_patterns_are_refused_with_the_reason() {
    assert!("orders".parse::<PathPattern>().unwrap_err().contains("start with '/'"));
    assert!("/orders/{}".parse::<PathPattern>().unwrap_err().contains("{name}"));
    assert!("/orders/id{x}".parse::<PathPattern>().unwrap_err().contains("whole segment"));
    assert!("/orders/../x".parse::<PathPattern>().unwrap_err().contains("dot segments"));
}

#[test]
fn the_first_endpoint_whose_method_and_path_match_applies() {
    let endpoints = [
        endpoint(Some(Method::POST), "/orders", Some(json!({"title": "post"})), None),
        endpoint(None, "/orders", Some(json!({"title": "any"})), None),
    ];
    assert!(std::ptr::eq(find(&endpoints, &Method::POST, "/orders").unwrap(), &endpoints[0]));
    assert!(std::ptr::eq(find(&endpoints, &Method::GET, "/orders").unwrap(), &endpoints[1]));
    assert!(find(&endpoints, &Method::GET, "/elsewhere").is_none());
}

#[test]
fn a_reference_to_another_document_is_refused_not_fetched() {
    for target in ["https://schemas.example.com/order.json", "http://127.0.0.1:9/x.json", "file:///etc/passwd"] {
        let err = Schema::compile(&json!({"$ref": target})).unwrap_err();
        assert!(err.contains("never fetched"), "{target}: {err}");
    }
    let err = Schema::compile(&json!({"properties": {"a": {"$ref": "common.json#/x"}}})).unwrap_err();
    assert!(err.contains("never fetched"), "{err}");
    let local = schema(json!({"$defs": {"qty": {"type": "integer"}}, "properties": {"n": {"$ref": "#/$defs/qty"}}}));
    assert!(local.check(&json!({"n": 2}), "body").is_ok());
    assert!(local.check(&json!({"n": "two"}), "body").is_err());
}

#[test]
fn an_invalid_schema_is_refused_with_the_reason() {
    let err = Schema::compile(&json!({"type": "strin"})).unwrap_err();
    assert!(err.starts_with("is not a valid JSON Schema"), "{err}");
    let err = Schema::compile(&json!({"type": "string", "pattern": "(?=lookahead)"})).unwrap_err();
    assert!(err.starts_with("is not a valid JSON Schema"), "{err}");
}

#[test]
fn a_message_lists_the_first_five_violations_by_location_and_never_the_values() {
    let s = schema(json!({
        "type": "object",
        "properties": {
            "password": {"type": "string", "maxLength": 4},
            "pin": {"type": "string", "pattern": "^[0-9]+$"},
            "items": {"type": "array", "items": {"type": "object", "properties": {"qty": {"minimum": 1}}}},
        },
        "required": ["id"],
        "additionalProperties": false,
    }));
    let instance = json!({
        "password": "hunter2-secret",
        "pin": "s3cr3t",
        "items": [{"qty": 0}, {"qty": -5}],
        "extra1": 1, "extra2": 2,
    });
    let message = s.check(&instance, "body").unwrap_err();
    assert!(message.starts_with("the body does not match its schema: "), "{message}");
    assert!(message.contains("/password: must be at most 4 characters long"), "{message}");
    assert!(message.contains("/items/0/qty: must be at least 1"), "{message}");
    assert!(message.contains("/: unexpected properties \"extra1\", \"extra2\""), "{message}");
    assert!(message.ends_with("; and 1 more"), "{message}");
    for secret in ["hunter2", "s3cr3t", "-5"] {
        assert!(!message.contains(secret), "{secret} echoed: {message}");
    }
    let message = s.check(&json!({}), "body").unwrap_err();
    assert_eq!(message, "the body does not match its schema: /: \"id\" is required");
}

#[test]
fn a_long_location_is_cut() {
    let long = "k".repeat(1000);
    let s = schema(json!({"additionalProperties": {"type": "integer"}}));
    let message = s.check(&json!({ long.clone(): "x" }), "body").unwrap_err();
    assert!(message.len() < 400, "{message}");
    assert!(message.contains('…'));
}

#[test]
fn the_query_is_an_object_of_strings_and_a_repeated_name_an_array() {
    let q = query_object(&parts(Method::GET, "/x?a=1&tag=x&tag=y%20z&tag=w&b=", None)).unwrap();
    assert_eq!(q, json!({"a": "1", "tag": ["x", "y z", "w"], "b": ""}));
    assert_eq!(query_object(&parts(Method::GET, "/x", None)).unwrap(), json!({}));
}

#[test]
fn json_media_types_are_recognised() {
    let json_type = |ct: &str| is_json(&parts(Method::POST, "/", Some(ct)).headers);
    assert!(json_type("application/json"));
    assert!(json_type("Application/JSON; charset=utf-8"));
    assert!(json_type("application/merge-patch+json"));
    assert!(!json_type("text/plain"));
    assert!(!json_type("application/jsonx"));
    assert!(!is_json(&HeaderMap::new()));
}

#[tokio::test]
async fn a_valid_body_is_forwarded_byte_for_byte() {
    let endpoints = [endpoint(Some(Method::POST), "/orders", Some(json!({"required": ["qty"]})), None)];
    let sent = "{ \"qty\" : 2 }";
    let body = check(&endpoints, 1024, &parts(Method::POST, "/orders", Some("application/json")), Body::from(sent))
        .await
        .unwrap();
    assert_eq!(axum::body::to_bytes(body, 1024).await.unwrap(), sent.as_bytes());
}

#[tokio::test]
async fn bodies_that_cannot_be_checked_are_refused_with_their_own_status() {
    let endpoints = [endpoint(None, "/orders", Some(json!({"type": "object"})), None)];
    let run = |ct: Option<&'static str>, body: String, limit: usize| {
        let endpoints = endpoints.clone();
        async move { refusal(check(&endpoints, limit, &parts(Method::POST, "/orders", ct), Body::from(body)).await).await }
    };
    let (status, body) = run(Some("text/plain"), "{}".into(), 1024).await;
    assert_eq!((status, body["error"].as_str()), (415, Some("unsupported_media_type")));
    let (status, body) = run(None, "{}".into(), 1024).await;
    assert_eq!(status, 415, "{body}");
    let (status, body) = run(Some("application/json"), "{\"a\": 1,".into(), 1024).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_json")));
    assert!(body["message"].as_str().unwrap().contains("line 1 column 8"), "{body}");
    let (status, body) = run(Some("application/json"), "[]".into(), 1024).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("validation_failed")));
    let (status, _) = run(Some("application/json"), format!("{{\"a\": \"{}\"}}", "x".repeat(2000)), 1024).await;
    assert_eq!(status, 413);
    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    let (status, body) = run(Some("application/json"), deep, 1 << 20).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_json")), "{body}");
}

#[tokio::test]
async fn a_query_outside_its_schema_is_refused_before_the_body_is_read() {
    let endpoints = [endpoint(
        None,
        "/search",
        Some(json!({"type": "object"})),
        Some(json!({"properties": {"limit": {"type": "string", "pattern": "^[0-9]{1,3}$"}}, "required": ["limit"]})),
    )];
    let ok = parts(Method::POST, "/search?limit=50", Some("application/json"));
    assert!(check(&endpoints, 1024, &ok, Body::from("{}")).await.is_ok());
    let bad = parts(Method::POST, "/search?limit=5000", Some("application/json"));
    let (status, body) = refusal(check(&endpoints, 1024, &bad, Body::from("not json")).await).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("validation_failed")));
    let message = body["message"].as_str().unwrap();
    assert!(message.starts_with("the query does not match its schema: /limit: must match"), "{message}");
    assert!(!message.contains("5000"), "{message}");
}

#[tokio::test]
async fn a_request_outside_every_endpoint_passes_untouched() {
    let endpoints = [endpoint(Some(Method::POST), "/orders", Some(json!(false)), None)];
    for (method, path) in [(Method::GET, "/orders"), (Method::POST, "/orders/7")] {
        let body = check(&endpoints, 16, &parts(method, path, None), Body::from("not json at all")).await.unwrap();
        assert_eq!(axum::body::to_bytes(body, 64).await.unwrap(), "not json at all".as_bytes());
    }
}
