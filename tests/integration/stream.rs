//! The table's stream, read from moto as Lambda reads it for the notifier:
//! the records since the last read, as one event (`{"Records": [...]}`).
//! dynalite has no streams.

use serde_json::{Value, json};

pub struct Stream {
    client: reqwest::Client,
    moto: String,
    /// One iterator per shard, where the next read starts.
    iterators: Vec<String>,
}

impl Stream {
    async fn call(client: &reqwest::Client, moto: &str, target: &str, body: Value) -> Value {
        // moto checks no signature; it routes by the credential's service
        // and the target.
        let reply = client
            .post(moto)
            .header("content-type", "application/x-amz-json-1.0")
            .header("x-amz-target", target)
            .header(
                "authorization",
                "AWS4-HMAC-SHA256 Credential=test/20261125/us-east-1/dynamodb/aws4_request, SignedHeaders=host, Signature=0",
            )
            .body(body.to_string())
            .send()
            .await
            .unwrap();
        assert!(reply.status().is_success(), "{target}: {}", reply.status());
        serde_json::from_slice(&reply.bytes().await.unwrap()).unwrap()
    }

    /// Reads the stream of `table` from its start.
    pub async fn open(moto: &str, table: &str) -> Stream {
        let client = reqwest::Client::new();
        let described = Self::call(
            &client,
            moto,
            "DynamoDB_20120810.DescribeTable",
            json!({ "TableName": table }),
        )
        .await;
        let arn = described["Table"]["LatestStreamArn"]
            .as_str()
            .unwrap()
            .to_owned();
        let stream = Self::call(
            &client,
            moto,
            "DynamoDBStreams_20120810.DescribeStream",
            json!({ "StreamArn": arn }),
        )
        .await;
        let mut iterators = Vec::new();
        for shard in stream["StreamDescription"]["Shards"].as_array().unwrap() {
            let iterator = Self::call(
                &client,
                moto,
                "DynamoDBStreams_20120810.GetShardIterator",
                json!({
                    "StreamArn": arn,
                    "ShardId": shard["ShardId"],
                    "ShardIteratorType": "TRIM_HORIZON",
                }),
            )
            .await;
            iterators.push(iterator["ShardIterator"].as_str().unwrap().to_owned());
        }
        Stream {
            client,
            moto: moto.to_owned(),
            iterators,
        }
    }

    /// Every record written since the last read, as Lambda's event.
    pub async fn read(&mut self) -> Value {
        let mut records = Vec::new();
        for iterator in &mut self.iterators {
            let page = Self::call(
                &self.client,
                &self.moto,
                "DynamoDBStreams_20120810.GetRecords",
                json!({ "ShardIterator": iterator }),
            )
            .await;
            records.extend(page["Records"].as_array().cloned().unwrap_or_default());
            if let Some(next) = page["NextShardIterator"].as_str() {
                *iterator = next.to_owned();
            }
        }
        json!({ "Records": records })
    }
}
