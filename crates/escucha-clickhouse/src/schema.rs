//! Versioned SQL migrations and their rendering for one server or a cluster.
//!
//! Migrations are plain SQL files in `migrations/`, embedded in the binary,
//! applied in order and recorded in `schema_migrations`. They use three
//! placeholders so one file serves both deployment modes:
//!
//! | placeholder | single server | cluster `c` |
//! |---|---|---|
//! | `{table:t}` | `db.t` | `db.t_local`, plus a `Distributed` table `db.t` |
//! | `{on_cluster}` | nothing | `ON CLUSTER c` |
//! | `{engine:E(args)}` | `E(args)` | `ReplicatedE('/clickhouse/tables/{shard}/db/t_local', '{replica}', args)` |
//!
//! In cluster mode each server needs the `{shard}` and `{replica}` macros
//! and a `<remote_servers>` entry for the cluster; rows are sharded by
//! `cityHash64(interaction_id)` so every version of an interaction lands on
//! the same shard and `FINAL` still collapses replays.

/// One migration file.
#[derive(Debug, Clone, Copy)]
pub struct Migration {
    pub version: u32,
    pub name: &'static str,
    pub sql: &'static str,
}

/// All migrations, in order.
pub const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        name: "tables",
        sql: include_str!("../migrations/0001_tables.sql"),
    },
    Migration {
        version: 2,
        name: "agent_empathy",
        sql: include_str!("../migrations/0002_agent_empathy.sql"),
    },
    Migration {
        version: 3,
        name: "alerts",
        sql: include_str!("../migrations/0003_alerts.sql"),
    },
    Migration {
        version: 4,
        name: "rollup",
        sql: include_str!("../migrations/0004_rollup.sql"),
    },
    Migration {
        version: 5,
        name: "turn_labels",
        sql: include_str!("../migrations/0005_turn_labels.sql"),
    },
];

/// Where the schema goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub database: String,
    /// `Some(name)` for cluster mode.
    pub cluster: Option<String>,
}

/// Quotes an identifier with backticks.
pub fn ident(name: &str) -> String {
    format!("`{}`", name.replace('\\', "\\\\").replace('`', "\\`"))
}

fn quote_str(s: &str) -> String {
    format!("'{}'", s.replace('\\', "\\\\").replace('\'', "\\'"))
}

impl Target {
    fn on_cluster(&self) -> String {
        match &self.cluster {
            Some(c) => format!("ON CLUSTER {}", ident(c)),
            None => String::new(),
        }
    }

    /// Statement that creates the database.
    pub fn create_database(&self) -> String {
        format!(
            "CREATE DATABASE IF NOT EXISTS {} {}",
            ident(&self.database),
            self.on_cluster()
        )
        .trim_end()
        .to_string()
    }

    /// Statement that creates the table recording applied migrations.
    pub fn create_migrations_table(&self) -> Vec<String> {
        let sql = "CREATE TABLE IF NOT EXISTS {table:schema_migrations} {on_cluster} (\n    \
                   version UInt32,\n    name String,\n    applied_at DateTime\n) \
                   ENGINE = {engine:ReplacingMergeTree(applied_at)} ORDER BY version";
        self.render(sql)
    }

    /// Renders one migration file into the statements to run, in order.
    pub fn render(&self, sql: &str) -> Vec<String> {
        split_statements(sql)
            .into_iter()
            .flat_map(|stmt| self.render_statement(&stmt))
            .collect()
    }

    fn render_statement(&self, stmt: &str) -> Vec<String> {
        let table = placeholder_arg(stmt, "table");
        let local = match (&table, &self.cluster) {
            (Some(t), Some(_)) => format!("{t}_local"),
            (Some(t), None) => t.clone(),
            (None, _) => String::new(),
        };
        let on_cluster = match self.on_cluster() {
            c if c.is_empty() => c,
            c => format!(" {c}"),
        };
        let mut out = stmt
            .replace(" {on_cluster}", &on_cluster)
            .replace("{on_cluster}", &on_cluster);
        if let Some(t) = &table {
            out = out.replace(
                &format!("{{table:{t}}}"),
                &format!("{}.{}", ident(&self.database), ident(&local)),
            );
        }
        if let Some(engine) = placeholder_arg(&out, "engine") {
            let rendered = match &self.cluster {
                None => engine.clone(),
                Some(_) => replicated(&engine, &self.database, &local),
            };
            out = out.replace(&format!("{{engine:{engine}}}"), &rendered);
        }
        let out = collapse_blank(&out);
        let mut statements = vec![out.clone()];
        let is_alter = stmt.trim_start().to_ascii_uppercase().starts_with("ALTER");
        if let (Some(t), Some(_), true) = (&table, &self.cluster, is_alter) {
            // The distributed table mirrors the local table's columns.
            statements.push(out.replace(
                &format!("{}.{}", ident(&self.database), ident(&local)),
                &format!("{}.{}", ident(&self.database), ident(t)),
            ));
            return statements;
        }
        if let (Some(t), Some(cluster)) = (&table, &self.cluster) {
            let db = ident(&self.database);
            statements.push(format!(
                "CREATE TABLE IF NOT EXISTS {db}.{} ON CLUSTER {} AS {db}.{} \
                 ENGINE = Distributed({}, {}, {}, cityHash64({}))",
                ident(t),
                ident(cluster),
                ident(&local),
                quote_str(cluster),
                quote_str(&self.database),
                quote_str(&local),
                shard_key(t),
            ));
        }
        statements
    }
}

fn shard_key(table: &str) -> &'static str {
    match table {
        "schema_migrations" => "version",
        "alerts_sent" => "anomaly_id",
        // A day's rollup rows live on one shard, with their markers.
        "rollup" => "day",
        _ => "interaction_id",
    }
}

/// `ReplacingMergeTree(version)` → `ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/db/t', '{replica}', version)`.
fn replicated(engine: &str, database: &str, table: &str) -> String {
    let (name, args) = match engine.find('(') {
        Some(i) => (&engine[..i], engine[i + 1..].trim_end_matches(')').trim()),
        None => (engine, ""),
    };
    let path = quote_str(&format!("/clickhouse/tables/{{shard}}/{database}/{table}"));
    let mut all = vec![path, quote_str("{replica}")];
    if !args.is_empty() {
        all.push(args.to_string());
    }
    format!("Replicated{name}({})", all.join(", "))
}

/// The argument of the first `{name:ARG}` placeholder, with nested parentheses.
fn placeholder_arg(stmt: &str, name: &str) -> Option<String> {
    let open = format!("{{{name}:");
    let start = stmt.find(&open)? + open.len();
    let end = stmt[start..].find('}')? + start;
    Some(stmt[start..end].to_string())
}

fn collapse_blank(s: &str) -> String {
    s.replace(" \n", "\n").replace("  (", " (")
}

/// Splits a SQL file into statements on `;` at the end of a line, dropping
/// `--` comment lines.
pub fn split_statements(sql: &str) -> Vec<String> {
    let mut statements = Vec::new();
    let mut current = String::new();
    for line in sql.lines() {
        let trimmed = line.trim();
        if trimmed.starts_with("--") || trimmed.is_empty() && current.is_empty() {
            continue;
        }
        if let Some(body) = trimmed.strip_suffix(';') {
            current.push_str(line.trim_end().strip_suffix(';').unwrap_or(body));
            statements.push(current.trim().to_string());
            current.clear();
        } else {
            current.push_str(line);
            current.push('\n');
        }
    }
    if !current.trim().is_empty() {
        statements.push(current.trim().to_string());
    }
    statements
}

#[cfg(test)]
mod tests {
    use super::*;

    fn single() -> Target {
        Target {
            database: "escucha".into(),
            cluster: None,
        }
    }

    fn cluster() -> Target {
        Target {
            database: "escucha".into(),
            cluster: Some("cx".into()),
        }
    }

    #[test]
    fn single_server_ddl_has_no_placeholders_and_plain_engines() {
        let statements = single().render(MIGRATIONS[0].sql);
        assert_eq!(statements.len(), 3);
        for s in &statements {
            assert!(
                !s.contains('{') || s.contains("{shard}"),
                "placeholder left in {s}"
            );
            assert!(s.contains("ENGINE = ReplacingMergeTree(version)"), "{s}");
            assert!(!s.contains("ON CLUSTER"));
        }
        assert!(statements[0].starts_with("CREATE TABLE IF NOT EXISTS `escucha`.`interactions` ("));
        assert!(statements[1].contains("`escucha`.`turns`"));
        assert!(statements[2].contains("`escucha`.`labels`"));
    }

    #[test]
    fn cluster_ddl_creates_replicated_local_and_distributed_tables_on_cluster() {
        let statements = cluster().render(MIGRATIONS[0].sql);
        assert_eq!(statements.len(), 6);
        let local = &statements[0];
        assert!(local.starts_with(
            "CREATE TABLE IF NOT EXISTS `escucha`.`interactions_local` ON CLUSTER `cx` ("
        ));
        assert!(local.contains(
            "ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/escucha/interactions_local', '{replica}', version)"
        ));
        assert!(local.contains("ORDER BY (toDate(occurred_at), pipeline, interaction_id)"));
        assert_eq!(
            statements[1],
            "CREATE TABLE IF NOT EXISTS `escucha`.`interactions` ON CLUSTER `cx` AS `escucha`.`interactions_local` \
             ENGINE = Distributed('cx', 'escucha', 'interactions_local', cityHash64(interaction_id))"
        );
        assert!(statements[3].contains("AS `escucha`.`turns_local`"));
        assert!(statements[5].contains("Distributed('cx', 'escucha', 'labels_local'"));
        assert_eq!(
            cluster().create_database(),
            "CREATE DATABASE IF NOT EXISTS `escucha` ON CLUSTER `cx`"
        );
        let mig = cluster().create_migrations_table();
        assert!(mig[0].contains("ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/escucha/schema_migrations_local', '{replica}', applied_at)"));
        assert!(mig[1].contains("cityHash64(version)"));
    }

    #[test]
    fn alter_statements_change_local_and_distributed_tables_on_cluster() {
        let single = single().render(MIGRATIONS[1].sql);
        assert_eq!(
            single,
            vec!["ALTER TABLE `escucha`.`interactions` ADD COLUMN agent_empathy Nullable(Float32) AFTER resolved"]
        );
        let clustered = cluster().render(MIGRATIONS[1].sql);
        assert_eq!(
            clustered,
            vec![
                "ALTER TABLE `escucha`.`interactions_local` ON CLUSTER `cx` ADD COLUMN agent_empathy Nullable(Float32) AFTER resolved",
                "ALTER TABLE `escucha`.`interactions` ON CLUSTER `cx` ADD COLUMN agent_empathy Nullable(Float32) AFTER resolved",
            ]
        );
    }

    #[test]
    fn turn_labels_are_added_to_local_and_distributed_turns() {
        let single = single().render(MIGRATIONS[4].sql);
        assert_eq!(single.len(), 1);
        assert!(single[0].starts_with("ALTER TABLE `escucha`.`turns`\n    ADD COLUMN labelled"));
        let clustered = cluster().render(MIGRATIONS[4].sql);
        assert_eq!(clustered.len(), 2);
        assert!(clustered[0].starts_with("ALTER TABLE `escucha`.`turns_local` ON CLUSTER `cx`"));
        assert!(clustered[1].starts_with("ALTER TABLE `escucha`.`turns` ON CLUSTER `cx`"));
        assert!(clustered[1].ends_with("ADD COLUMN label_engines Array(String)"));
    }

    #[test]
    fn alerts_table_is_sharded_by_anomaly() {
        let single = single().render(MIGRATIONS[2].sql);
        assert_eq!(single.len(), 1);
        assert!(single[0].starts_with("CREATE TABLE IF NOT EXISTS `escucha`.`alerts_sent` ("));
        assert!(single[0].contains("ENGINE = ReplacingMergeTree(sent_at)"));
        let clustered = cluster().render(MIGRATIONS[2].sql);
        assert_eq!(clustered.len(), 2);
        assert!(clustered[1].contains("cityHash64(anomaly_id)"));
    }

    #[test]
    fn identifiers_are_escaped() {
        let t = Target {
            database: "we`ird".into(),
            cluster: None,
        };
        assert_eq!(
            t.create_database(),
            "CREATE DATABASE IF NOT EXISTS `we\\`ird`"
        );
    }

    #[test]
    fn splits_statements_and_drops_comments() {
        let s = split_statements("-- c\nSELECT 1;\n\nSELECT\n  2;\n");
        assert_eq!(s, vec!["SELECT 1", "SELECT\n  2"]);
    }
}
