//! Start-up cost: loading and compiling the full SigmaHQ snapshot (rules,
//! rules-threat-hunting, rules-emerging-threats, rules-placeholder).

mod common;

use criterion::{Criterion, criterion_group, criterion_main};

fn compile_snapshot(c: &mut Criterion) {
    let dirs = common::snapshot_dirs();
    let n = common::compile(&dirs).rules.len();
    let mut g = c.benchmark_group("startup");
    g.sample_size(10);
    g.bench_function(format!("load_and_compile_{n}_rules"), |b| {
        b.iter(|| common::compile(&dirs))
    });
    g.finish();
}

criterion_group!(benches, compile_snapshot);
criterion_main!(benches);
