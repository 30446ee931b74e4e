//! Tags of state machines and activities on SQLite.

use super::*;
use crate::store::records;

impl SqliteStore {
    pub(super) async fn taggable(
        tx: &mut Transaction<'_, Sqlite>,
        resource_arn: &str,
    ) -> Result<bool> {
        let found: i64 = sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM state_machines WHERE arn = ?1) \
             OR EXISTS (SELECT 1 FROM activities WHERE arn = ?1)",
        )
        .bind(resource_arn)
        .fetch_one(&mut **tx)
        .await?;
        Ok(found != 0)
    }

    pub(super) async fn tags_remove(&self, resource_arn: &str, keys: &[String]) -> Result<bool> {
        let mut tx = self.writer.begin().await?;
        if !Self::taggable(&mut tx, resource_arn).await? {
            return Ok(false);
        }
        for key in keys {
            sqlx::query("DELETE FROM tags WHERE resource_arn = ?1 AND key = ?2")
                .bind(resource_arn)
                .bind(key)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(true)
    }

    pub(super) async fn tags_list(&self, resource_arn: &str) -> Result<Option<Vec<Tag>>> {
        // One read transaction so the existence check and the tags agree.
        let mut tx = self.reader.begin().await?;
        if !Self::taggable(&mut tx, resource_arn).await? {
            return Ok(None);
        }
        let rows = sqlx::query("SELECT key, value FROM tags WHERE resource_arn = ?1 ORDER BY key")
            .bind(resource_arn)
            .fetch_all(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(Some(rows.iter().map(records::tag).collect::<Result<_>>()?))
    }
}

/// Removes the tags of resources that no longer exist.
pub(super) async fn delete_tags_of(
    tx: &mut Transaction<'_, Sqlite>,
    arns: &[String],
) -> Result<()> {
    for arn in arns {
        sqlx::query("DELETE FROM tags WHERE resource_arn = ?1")
            .bind(arn)
            .execute(&mut **tx)
            .await?;
    }
    Ok(())
}
