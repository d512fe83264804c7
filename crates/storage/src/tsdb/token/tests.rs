use super::*;
use crate::{EmbeddedKv, EmbeddedOptions, KvDatabase, RunOptions, run};

fn both() -> Permissions {
    Permissions {
        read: true,
        write: true,
    }
}

#[test]
fn records_older_than_ids_still_decode() {
    let hash = hash_token("tmk_old");
    // The first format: one database, read, write.
    let first = pack(&("alpha", true, false));
    let grant = TokenGrant::decode(&first, &hash).unwrap();
    assert_eq!(grant.databases, vec!["alpha".to_owned()]);
    assert_eq!(
        grant.permissions,
        Permissions {
            read: true,
            write: false
        }
    );
    assert!(!grant.admin);
    assert_eq!((grant.created_at, grant.expires_at), (None, None));
    assert!(grant.name.is_empty());
    // The second: an admin flag, with an empty database for admin tokens.
    let admin = TokenGrant::decode(&pack(&("", true, true, true)), &hash).unwrap();
    assert!(admin.admin && admin.databases.is_empty() && admin.covers("anything"));
    let tenant = TokenGrant::decode(&pack(&("beta", false, true, false)), &hash).unwrap();
    assert_eq!(tenant.databases, vec!["beta".to_owned()]);
    assert!(tenant.covers("beta") && !tenant.covers("alpha"));
    // Their ids are stable, and are not the hash.
    assert_eq!(tenant.id, TokenGrant::decode(&first, &hash).unwrap().id);
    assert_ne!(tenant.id.0.to_be_bytes(), hash[..8]);
}

#[test]
fn grants_round_trip_with_several_databases_and_expiry() {
    let hash = hash_token("tmk_new");
    let mut grant = TokenGrant::for_databases(vec!["a".into(), "b".into()], both());
    grant.name = "ingest".into();
    grant.expires_at = Some(1_900_000_000);
    let decoded = TokenGrant::decode(&grant.encode(), &hash).unwrap();
    assert_eq!(decoded, grant);
    assert!(decoded.covers("a") && decoded.covers("b") && !decoded.covers("c"));
    assert!(!decoded.expired(1_899_999_999));
    assert!(decoded.expired(1_900_000_000));
    let admin = TokenGrant::admin();
    assert_eq!(TokenGrant::decode(&admin.encode(), &hash).unwrap(), admin);
    // A format this build does not know authenticates nobody.
    let future = pack(&(
        3i64,
        1u64,
        "",
        Vec::<String>::new(),
        true,
        true,
        false,
        None::<i64>,
        None::<i64>,
    ));
    assert_eq!(TokenGrant::decode(&future, &hash), None);
    assert_eq!(TokenGrant::decode(b"garbage", &hash), None);
}

#[test]
fn token_ids_print_and_parse_as_sixteen_hex_digits() {
    let id = TokenId(0x00ab_cdef_0123_4567);
    assert_eq!(id.to_string(), "00abcdef01234567");
    assert_eq!("00abcdef01234567".parse::<TokenId>(), Ok(id));
    assert!("abc".parse::<TokenId>().is_err());
    assert!("zzzzzzzzzzzzzzzz".parse::<TokenId>().is_err());
}

#[tokio::test]
async fn tokens_list_revoke_by_id_and_lose_deleted_databases() {
    let dir = tempfile::tempdir().unwrap();
    let db = EmbeddedKv::open(dir.path(), EmbeddedOptions::default()).unwrap();
    let layout = Layout::default();
    let several = TokenGrant::for_databases(vec!["a".into(), "b".into()], both());
    let only_a = TokenGrant::for_databases(vec!["a".into()], both());
    let admin = TokenGrant::admin();
    let legacy_hash = hash_token("tmk_legacy");
    run(&db, RunOptions::idempotent(), |tx, _| {
        let (layout, several, only_a, admin) = (
            layout.clone(),
            several.clone(),
            only_a.clone(),
            admin.clone(),
        );
        Box::pin(async move {
            layout.put_token(tx, "tmk_several", &several);
            layout.put_token(tx, "tmk_only_a", &only_a);
            layout.put_token(tx, "tmk_admin", &admin);
            // A record written by an older build: no id, no index entry.
            tx.set(&layout.token(&legacy_hash), &pack(&("a", true, true)));
            Ok::<_, crate::KvError>(())
        })
    })
    .await
    .unwrap();
    let tx = db.create_transaction().unwrap();
    let listed = layout.list_tokens(&tx).await.unwrap();
    assert_eq!(listed.len(), 4);
    let legacy = listed
        .iter()
        .find(|(hash, _)| *hash == legacy_hash)
        .map(|(_, grant)| grant.clone())
        .unwrap();
    assert_eq!(
        layout
            .token_grant(&tx, "tmk_several")
            .await
            .unwrap()
            .as_ref(),
        Some(&several)
    );
    drop(tx);

    // The legacy token is found by a scan and revoked by its derived id.
    let revoked = run(&db, RunOptions::idempotent(), |tx, _| {
        let layout = layout.clone();
        Box::pin(async move { layout.revoke_token(tx, legacy.id).await })
    })
    .await
    .unwrap();
    assert_eq!(revoked.map(|grant| grant.databases), Some(vec!["a".into()]));

    // Deleting database `a`: the token for `a` alone goes, the other keeps `b`.
    let gone = run(&db, RunOptions::idempotent(), |tx, _| {
        let layout = layout.clone();
        Box::pin(async move { layout.forget_database_in_tokens(tx, "a").await })
    })
    .await
    .unwrap();
    assert_eq!(gone, 1);
    let tx = db.create_transaction().unwrap();
    assert_eq!(layout.token_grant(&tx, "tmk_only_a").await.unwrap(), None);
    let kept = layout
        .token_grant(&tx, "tmk_several")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(kept.databases, vec!["b".to_owned()]);
    assert_eq!(kept.id, several.id);
    assert!(
        layout
            .token_grant(&tx, "tmk_admin")
            .await
            .unwrap()
            .is_some()
    );
    assert!(layout.token_by_id(&tx, only_a.id).await.unwrap().is_none());
}
