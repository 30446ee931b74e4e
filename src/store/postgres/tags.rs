//! Tags of state machines and activities on Postgres.

use sqlx::{Postgres, Row, Transaction};

use super::*;
use crate::store::records;

impl PgStore {
    /// Locks the tagged resource's row so concurrent tag writes on it serialize; false if none exists.
    pub(super) async fn taggable(
        tx: &mut Transaction<'_, Postgres>,
        resource_arn: &str,
    ) -> Result<bool> {
        let found = sqlx::query("SELECT 1 FROM state_machines WHERE arn = $1 FOR UPDATE")
            .bind(resource_arn)
            .fetch_optional(&mut **tx)
            .await?
            .is_some();
        if found {
            return Ok(true);
        }
        Ok(
            sqlx::query("SELECT 1 FROM activities WHERE arn = $1 FOR UPDATE")
                .bind(resource_arn)
                .fetch_optional(&mut **tx)
                .await?
                .is_some(),
        )
    }

    pub(super) async fn tags_remove(&self, resource_arn: &str, keys: &[String]) -> Result<bool> {
        let mut tx = self.pool.begin().await?;
        if !Self::taggable(&mut tx, resource_arn).await? {
            return Ok(false);
        }
        sqlx::query("DELETE FROM tags WHERE resource_arn = $1 AND key = ANY($2)")
            .bind(resource_arn)
            .bind(keys)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(true)
    }

    pub(super) async fn tags_list(&self, resource_arn: &str) -> Result<Option<Vec<Tag>>> {
        let exists: bool = sqlx::query(
            "SELECT EXISTS (SELECT 1 FROM state_machines WHERE arn = $1) \
             OR EXISTS (SELECT 1 FROM activities WHERE arn = $1) AS found",
        )
        .bind(resource_arn)
        .fetch_one(&self.pool)
        .await?
        .try_get("found")?;
        if !exists {
            return Ok(None);
        }
        let rows = sqlx::query("SELECT key, value FROM tags WHERE resource_arn = $1 ORDER BY key")
            .bind(resource_arn)
            .fetch_all(&self.pool)
            .await?;
        Ok(Some(rows.iter().map(records::tag).collect::<Result<_>>()?))
    }
}
