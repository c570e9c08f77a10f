//! `portcullis audit export|verify` against a real SQLite database.

use crate::support::{Env, python, stdout};

fn rotated_twice() -> Env {
    let env = Env::new();
    env.ok(&["keys", "rotate"]);
    env.ok(&["keys", "rotate"]);
    env
}

#[test]
fn verify_passes_then_names_the_record_whose_details_were_edited() {
    let env = rotated_twice();
    assert_eq!(env.ok(&["audit", "verify"]).trim(), "audit log verified: 2 records");

    let db = env.path("portcullis.db");
    let id = python(
        "import sqlite3, sys\n\
         c = sqlite3.connect(sys.argv[1])\n\
         (i,) = c.execute(\"SELECT MIN(id) FROM audit_events\").fetchone()\n\
         c.execute(\"UPDATE audit_events SET details = '{\\\"kid\\\":\\\"forged\\\",\\\"version\\\":9}' WHERE id = ?\", (i,))\n\
         c.commit()\n\
         print(i)",
        &[db.to_str().unwrap()],
    );
    let out = env.run(&["audit", "verify"]);
    assert_eq!(out.status.code(), Some(1));
    let text = stdout(&out);
    assert!(text.contains(&format!("record {id}: changed")), "{text}");
}

#[test]
fn export_writes_parseable_jsonl_and_csv() {
    let env = rotated_twice();
    let jsonl = env.ok(&["audit", "export", "--format", "jsonl", "--action", "key_rotated"]);
    let events: Vec<serde_json::Value> = jsonl.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(events.len(), 2);
    assert_eq!(events[0]["action"], "key_rotated");
    assert_eq!(events[1]["details"]["version"], 3);
    assert_eq!(events[1]["prev_hash"], events[0]["hash"]);
    assert!(events[0]["timestamp"].as_str().unwrap().ends_with('Z'));

    let csv = env.ok(&["audit", "export", "--format", "csv", "--since", "2000-01-01T00:00:00Z"]);
    let rows = python(
        "import csv, io, json, sys\n\
         rows = list(csv.DictReader(io.StringIO(sys.argv[1])))\n\
         print(json.dumps([[r['action'], json.loads(r['details'])['kid']] for r in rows]))",
        &[&csv],
    );
    let rows: Vec<(String, String)> = serde_json::from_str(&rows).unwrap();
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0].0, "key_rotated");
    assert_eq!(rows[0].1, events[0]["details"]["kid"].as_str().unwrap());

    assert_eq!(env.ok(&["audit", "export", "--user", "nobody"]), "");
    assert_eq!(env.run(&["audit", "export", "--since", "yesterday"]).status.code(), Some(2));
}
