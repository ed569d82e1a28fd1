//! The table itself: its indexes, and creating it (`afureko aws init`).

use super::items::backend;
use crate::store::StoreError;
use aws_sdk_dynamodb::Client;

pub const INDEXES: [(&str, &str, &str); 4] = [
    ("by_status_due", "gsi1pk", "gsi1sk"),
    ("by_due", "gsi2pk", "gsi2sk"),
    ("by_number", "gsi3pk", "gsi3sk"),
    ("by_received", "gsi4pk", "gsi4sk"),
];

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
    for (index, pk, sk) in INDEXES {
        request = request
            .attribute_definitions(attr(pk)?)
            .attribute_definitions(attr(sk)?)
            .global_secondary_indexes(
                GlobalSecondaryIndex::builder()
                    .index_name(index)
                    .key_schema(key(pk, KeyType::Hash)?)
                    .key_schema(key(sk, KeyType::Range)?)
                    .projection(
                        Projection::builder()
                            .projection_type(ProjectionType::All)
                            .build(),
                    )
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
