use super::*;
use crate::{EmbeddedKv, EmbeddedOptions, KvDatabase, KvError, RunOptions, run};

#[tokio::test]
async fn a_dropped_tenant_is_unreachable_at_once_and_cleared_in_steps() {
    let dir = tempfile::tempdir().unwrap();
    let db = EmbeddedKv::open(dir.path(), EmbeddedOptions::default()).unwrap();
    let layout = Layout::default();
    let (gone, kept) = run(&db, RunOptions::idempotent(), |tx, _| {
        let layout = layout.clone();
        Box::pin(async move {
            let gone = layout.create_tenant(tx, "gone").await?;
            let kept = layout.create_tenant(tx, "kept").await?;
            for (tenant, count) in [(gone, 25u64), (kept, 3)] {
                for index in 0..count {
                    tx.set(&layout.root().pack(&(tenant.0, "s", index)), b"series");
                }
                layout.set_retention(tx, tenant, RetentionSettings::default());
            }
            Ok::<_, KvError>((gone, kept))
        })
    })
    .await
    .unwrap();
    let dropped = run(&db, RunOptions::idempotent(), |tx, _| {
        let layout = layout.clone();
        Box::pin(async move { layout.drop_tenant(tx, "gone").await })
    })
    .await
    .unwrap();
    assert_eq!(dropped, Some(gone));
    let tx = db.create_transaction().unwrap();
    assert_eq!(layout.tenant_id(&tx, "gone").await.unwrap(), None);
    assert_eq!(
        layout.dropped_tenants_pending(&tx).await.unwrap(),
        vec![gone]
    );
    let names: Vec<String> = layout
        .list_tenants(&tx)
        .await
        .unwrap()
        .into_iter()
        .map(|(name, _)| name)
        .collect();
    assert_eq!(names, vec!["kept".to_owned()]);
    drop(tx);
    let mut steps = 0;
    loop {
        steps += 1;
        let done = run(&db, RunOptions::idempotent(), |tx, _| {
            let layout = layout.clone();
            Box::pin(async move { layout.clear_dropped_keys(tx, gone, 10, 1 << 20).await })
        })
        .await
        .unwrap();
        if done {
            break;
        }
    }
    // 25 series records and the retention record, 10 keys a step, then the marker.
    assert_eq!(steps, 4);
    let tx = db.create_transaction().unwrap();
    let count = |tenant: TenantId| {
        let (begin, end) = layout.tenant_keys(tenant);
        let tx = &tx;
        async move {
            tx.get_range_all(&RangeRequest::new(begin, end), true)
                .await
                .unwrap()
                .len()
        }
    };
    assert_eq!(count(gone).await, 0);
    assert_eq!(count(kept).await, 4, "another tenant's keys stay");
    assert!(
        layout
            .dropped_tenants_pending(&tx)
            .await
            .unwrap()
            .is_empty()
    );
    // A tenant created again under the name gets a new id.
    drop(tx);
    let again = run(&db, RunOptions::idempotent(), |tx, _| {
        let layout = layout.clone();
        Box::pin(async move { layout.create_tenant(tx, "gone").await })
    })
    .await
    .unwrap();
    assert!(again.0 > kept.0);
}

const DAY: i64 = 86_400_000_000_000;

#[test]
fn hot_retention_may_not_outlast_the_total() {
    let settings = |hot: Option<i64>, total: Option<i64>| RetentionSettings {
        hot_nanos: hot,
        total_nanos: total,
    };
    assert!(settings(Some(7 * DAY), Some(7 * DAY)).check().is_ok());
    assert!(settings(Some(30 * DAY), None).check().is_ok());
    assert!(settings(None, Some(DAY)).check().is_ok());
    let error = settings(Some(30 * DAY), Some(7 * DAY)).check().unwrap_err();
    assert_eq!(
        error.to_string(),
        "hot retention 30d is longer than the total retention 7d: data would be deleted \
         before it leaves the hot tier; make the hot retention at most the total"
    );
    assert_eq!(show_nanos(DAY / 24 * 36), "36h");
    assert_eq!(show_nanos(1_500_000_000), "1500ms");
}
