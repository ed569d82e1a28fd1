//! The table itself: its indexes, and creating it (`afureko aws init`).

use super::items::backend;
use crate::store::StoreError;
use aws_sdk_dynamodb::Client;

/// A GSI: its name, key attributes and whether it projects every attribute
/// or only the keys.
pub struct Index {
    pub name: &'static str,
    pub pk: &'static str,
    pub sk: &'static str,
    pub keys_only: bool,
}

const fn keys_only(name: &'static str, pk: &'static str, sk: &'static str) -> Index {
    Index {
        name,
        pk,
        sk,
        keys_only: true,
    }
}

/// The lists keep only keys: a record changes on every webhook step and
/// agent action, and an entry without the record's JSON is rewritten only
/// when its keys change (a status or due time), not on every change; a list
/// reads the records by BatchGetItem (docs/dynamodb.md, "Cost").
/// `open_number_keys` is sparse: a record is in it only while open.
/// `number_tail_keys` shares `received_keys`'s sort key (the arrival):
/// an attribute less on every record. `tried_keys` is sparse: open records
/// with attempts.
pub const INDEXES: [Index; 6] = [
    keys_only("status_due_keys", "gsi1pk", "gsi1sk"),
    keys_only("due_keys", "gsi2pk", "gsi2sk"),
    keys_only("open_number_keys", "gsi3pk", "gsi3sk"),
    keys_only("received_keys", "gsi4pk", "gsi4sk"),
    keys_only("number_tail_keys", "gsi5pk", "gsi4sk"),
    keys_only("tried_keys", "gsi6pk", "gsi6sk"),
];

/// Every attribute an index keys on, each once.
pub fn index_attributes() -> Vec<&'static str> {
    let mut attributes: Vec<&'static str> = Vec::new();
    for index in INDEXES {
        for attr in [index.pk, index.sk] {
            if !attributes.contains(&attr) {
                attributes.push(attr);
            }
        }
    }
    attributes
}

/// Creates the table with its indexes, stream and TTL if it does not
/// exist; says which it did. On-demand billing: no capacity to plan.
pub async fn create_table(client: &Client, table: &str) -> Result<&'static str, StoreError> {
    use aws_sdk_dynamodb::types::{
        AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType,
        Projection, ProjectionType, ScalarAttributeType, StreamSpecification, StreamViewType,
        TimeToLiveSpecification,
    };
    let key = |name: &str, kind: KeyType| {
        KeySchemaElement::builder()
            .attribute_name(name)
            .key_type(kind)
            .build()
            .map_err(|e| backend("table definition", e))
    };
    let attr = |name: &str| {
        AttributeDefinition::builder()
            .attribute_name(name)
            .attribute_type(ScalarAttributeType::S)
            .build()
            .map_err(|e| backend("table definition", e))
    };
    let mut request = client
        .create_table()
        .table_name(table)
        .billing_mode(BillingMode::PayPerRequest)
        .key_schema(key("pk", KeyType::Hash)?)
        .key_schema(key("sk", KeyType::Range)?)
        .attribute_definitions(attr("pk")?)
        .attribute_definitions(attr("sk")?)
        // The TTL's removals, with the removed item, for the sweeper to
        // delete their recordings (docs/retention.md).
        .stream_specification(
            StreamSpecification::builder()
                .stream_enabled(true)
                .stream_view_type(StreamViewType::OldImage)
                .build()
                .map_err(|e| backend("table definition", e))?,
        );
    for name in index_attributes() {
        request = request.attribute_definitions(attr(name)?);
    }
    for index in INDEXES {
        let projection = match index.keys_only {
            true => ProjectionType::KeysOnly,
            false => ProjectionType::All,
        };
        request = request.global_secondary_indexes(
            GlobalSecondaryIndex::builder()
                .index_name(index.name)
                .key_schema(key(index.pk, KeyType::Hash)?)
                .key_schema(key(index.sk, KeyType::Range)?)
                .projection(Projection::builder().projection_type(projection).build())
                .build()
                .map_err(|e| backend("table definition", e))?,
        );
    }
    match request.send().await {
        Ok(_) => {}
        Err(e)
            if e.as_service_error()
                .is_some_and(|se| se.is_resource_in_use_exception()) =>
        {
            return Ok("exists");
        }
        Err(e) => return Err(backend("create table", e)),
    }
    wait_until_active(client, table).await?;
    // Retention: items with `expires_at` (epoch seconds) are removed by
    // DynamoDB. Some local stand-ins have no TTL; the table works without.
    let ttl = client
        .update_time_to_live()
        .table_name(table)
        .time_to_live_specification(
            TimeToLiveSpecification::builder()
                .attribute_name("expires_at")
                .enabled(true)
                .build()
                .map_err(|e| backend("TTL settings", e))?,
        )
        .send()
        .await;
    match ttl {
        Ok(_) => Ok("created"),
        Err(e) => {
            tracing::warn!(error = ?e, "TTL could not be enabled");
            Ok("created (without TTL)")
        }
    }
}

/// A new table takes writes only once ACTIVE.
async fn wait_until_active(client: &Client, table: &str) -> Result<(), StoreError> {
    use aws_sdk_dynamodb::types::TableStatus;
    for _ in 0..120 {
        let described = client
            .describe_table()
            .table_name(table)
            .send()
            .await
            .map_err(|e| backend("describe table", e))?;
        if described.table.and_then(|t| t.table_status) == Some(TableStatus::Active) {
            return Ok(());
        }
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    }
    Err(StoreError::TableNotActive(table.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::INDEXES;

    /// template.yaml declares the same indexes as `afureko aws init`.
    #[test]
    fn the_template_declares_exactly_these_indexes() {
        let template = include_str!("../../../template.yaml");
        let declared = template.matches("- IndexName: ").count();
        assert_eq!(declared, INDEXES.len(), "indexes in template.yaml");
        for index in INDEXES {
            let projection = if index.keys_only { "KEYS_ONLY" } else { "ALL" };
            let yaml = format!(
                "        - IndexName: {}\n          KeySchema: [{{ AttributeName: {}, KeyType: HASH }}, \
                 {{ AttributeName: {}, KeyType: RANGE }}]\n          Projection: {{ ProjectionType: {projection} }}\n",
                index.name, index.pk, index.sk
            );
            assert!(template.contains(&yaml), "template.yaml lacks\n{yaml}");
            for attr in [index.pk, index.sk] {
                let definition = format!("- {{ AttributeName: {attr}, AttributeType: S }}");
                assert!(template.contains(&definition), "{definition}");
            }
        }
        let attributes = template.matches("AttributeType: S }").count();
        assert_eq!(
            attributes,
            2 + super::index_attributes().len(),
            "attribute definitions"
        );
    }
}
