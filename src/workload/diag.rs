use super::naive;
use serde_json::Value;
use std::collections::BTreeMap;

fn sig(f: &Value) -> String {
    // structure signature: keywords and fields, values stripped
    match f {
        Value::Object(o) => {
            let mut s = String::from("{");
            for (k, v) in o {
                s.push_str(k);
                s.push(':');
                s.push_str(&sig(v));
                s.push(',');
            }
            s.push('}');
            s
        }
        Value::Array(a) => format!("[{}]", a.iter().map(sig).collect::<Vec<_>>().join(",")),
        _ => "_".into(),
    }
}

#[test]
#[ignore]
fn diag_realistic() {
    let n = 10_000;
    let w = super::realistic(n, 300, 7);
    let mut by: BTreeMap<String, usize> = BTreeMap::new();
    let mut per_doc = Vec::new();
    for d in &w.docs {
        let mut c = 0;
        for f in &w.filters {
            if naive::matches(f, d) {
                c += 1;
                *by.entry(sig(f).chars().take(120).collect()).or_default() += 1;
            }
        }
        per_doc.push((c, d["type"].clone()));
    }
    per_doc.sort_by_key(|x| x.0);
    println!(
        "mean {}",
        per_doc.iter().map(|x| x.0).sum::<usize>() as f64 / 300.0
    );
    println!("top {:?}", &per_doc[per_doc.len() - 10..]);
    let mut v: Vec<_> = by.into_iter().collect();
    v.sort_by_key(|x| std::cmp::Reverse(x.1));
    for (k, c) in v.iter().take(15) {
        println!("{c:6} {k}");
    }
}

#[test]
#[ignore]
fn diag_heavy() {
    let n = 10_000;
    let w = super::heavy(n, 100, 3);
    let mut by: BTreeMap<String, usize> = BTreeMap::new();
    let mut total = 0;
    for d in &w.docs {
        for f in &w.filters {
            if naive::matches(f, d) {
                total += 1;
                *by.entry(sig(f).chars().take(140).collect()).or_default() += 1;
            }
        }
    }
    println!("mean {}", total as f64 / 100.0);
    let mut v: Vec<_> = by.into_iter().collect();
    v.sort_by_key(|x| std::cmp::Reverse(x.1));
    for (k, c) in v.iter().take(40) {
        println!("{:8.1} {k}", *c as f64 / 100.0);
    }
}
