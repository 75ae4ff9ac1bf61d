//! The control plane: CreateTable, DescribeTable, ListTables, DeleteTable, UpdateTable,
//! UpdateTimeToLive, DescribeTimeToLive.
//!
//! Tables are usable as soon as CreateTable returns. As DynamoDB does, the CreateTable answer
//! says CREATING and DescribeTable then says ACTIVE, so SDK waiters work unchanged. A new global
//! secondary index is CREATING (`Backfilling`) until the background worker has filled it.

use std::collections::BTreeSet;
use std::sync::Arc;

use serde_json::{Value, json};

use crate::Inner;
use crate::catalog;
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::keys;
use crate::limits::{
    GSIS_MAX, LIST_TABLES_LIMIT_MAX, LSIS_MAX, PROJECTED_ATTRIBUTES_MAX, TABLES_MAX,
};
use crate::request::{self, Obj, check_name, constraint, missing};
use crate::schema::{
    IndexDef, IndexStatus, KeyDef, KeySchema, ProjectionDef, ScalarType, StreamDef, TableDef,
    Throughput,
};
use crate::streams;
use crate::write::read_counter;

const STREAM_VIEW_TYPES: &[&str] = &["NEW_IMAGE", "OLD_IMAGE", "NEW_AND_OLD_IMAGES", "KEYS_ONLY"];

/// What a table looks like in an answer: TableStatus and the index statuses to report.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Moment {
    Creating,
    Active,
    Updating,
    Deleting,
}

pub async fn create_table(inner: &Inner, request: Obj<'_>) -> ApiResult<Value> {
    let def = parse_create_table(request)?;
    let _ddl = inner.ddl.lock().await;
    if inner.catalog.all().len() >= TABLES_MAX {
        return Err(ApiError::new(
            ErrorCode::LimitExceeded,
            format!("Subscriber limit exceeded: tables per node are limited to {TABLES_MAX}"),
        ));
    }
    let def = create(inner, def).await?;
    Ok(json!({ "TableDescription": describe(inner, &def, Moment::Creating)? }))
}

/// Commits a new table definition; ResourceInUseException when the name is taken.
pub(crate) async fn create(inner: &Inner, mut def: TableDef) -> ApiResult<TableDef> {
    let name = def.name.clone();
    let def = inner
        .store
        .write(move |txn| -> ApiResult<TableDef> {
            if catalog::read_def(txn, &def.name)?.is_some() {
                return Err(ApiError::new(
                    ErrorCode::ResourceInUse,
                    format!("Table already exists: {}", def.name),
                ));
            }
            def.id = catalog::next_table_id(txn)?;
            streams::sync(txn, None, Some(&mut def))?;
            catalog::write_def(txn, &def)?;
            Ok(def)
        })
        .await??;
    inner.catalog.publish(&name, Some(def.clone()));
    Ok(def)
}

fn parse_create_table(request: Obj<'_>) -> ApiResult<TableDef> {
    let name = request.required_str("TableName", "tableName")?;
    check_name(name, "tableName")?;
    let attributes = parse_attribute_definitions(request)?;
    let key_schema = request
        .objs("KeySchema")?
        .ok_or_else(|| missing("keySchema"))?;
    let keys = parse_key_schema(&key_schema, &attributes, "keySchema")?;

    let billing = request.enum_str(
        "BillingMode",
        "billingMode",
        &["PROVISIONED", "PAY_PER_REQUEST"],
    )?;
    let throughput = parse_billing(billing, request.obj("ProvisionedThroughput")?)?;

    let mut next_space = 1u8;
    let mut indexes = Vec::new();
    let gsis = request.objs("GlobalSecondaryIndexes")?.unwrap_or_default();
    let lsis = request.objs("LocalSecondaryIndexes")?.unwrap_or_default();
    if gsis.len() > GSIS_MAX {
        return Err(ApiError::new(
            ErrorCode::LimitExceeded,
            format!(
                "Subscriber limit exceeded: a table may have at most {GSIS_MAX} global secondary indexes"
            ),
        ));
    }
    if lsis.len() > LSIS_MAX {
        return Err(ApiError::validation(format!(
            "One or more parameter values were invalid: Number of LocalSecondaryIndexes exceeds per-table limit of {LSIS_MAX}"
        )));
    }
    for gsi in &gsis {
        let mut index = parse_index(*gsi, &attributes, true, "globalSecondaryIndexes")?;
        index.throughput = parse_index_throughput(*gsi, throughput.is_some(), &index.name)?;
        index.space = next_space;
        next_space += 1;
        indexes.push(index);
    }
    for lsi in &lsis {
        let mut index = parse_index(*lsi, &attributes, false, "localSecondaryIndexes")?;
        if keys.sort.is_none() {
            return Err(ApiError::validation(
                "One or more parameter values were invalid: Table KeySchema does not have a range key, which is required when specifying a LocalSecondaryIndex",
            ));
        }
        if index.keys.partition.name != keys.partition.name {
            return Err(ApiError::validation(format!(
                "One or more parameter values were invalid: Index KeySchema does not have the same leading hash key as table KeySchema for index: {}. index hash key: {}, table hash key: {}",
                index.name, index.keys.partition.name, keys.partition.name
            )));
        }
        if index.keys.sort.is_none() {
            return Err(ApiError::validation(format!(
                "One or more parameter values were invalid: Index KeySchema must have a range key for local secondary index: {}",
                index.name
            )));
        }
        index.space = next_space;
        next_space += 1;
        indexes.push(index);
    }
    check_index_names(&indexes)?;
    check_projected_attributes(&indexes)?;

    // Every defined attribute must be a key of the table or of an index, and vice versa.
    let used: BTreeSet<&str> = keys
        .names()
        .chain(indexes.iter().flat_map(|i| i.keys.names()))
        .collect();
    if used.len() != attributes.len() {
        return Err(ApiError::validation(
            "One or more parameter values were invalid: Number of attributes in KeySchema does not exactly match number of attributes defined in AttributeDefinitions",
        ));
    }

    let stream = parse_stream_spec(request)?.and_then(|view_type| view_type.map(stream_def));
    let tags = parse_tags(request)?;
    Ok(TableDef {
        id: 0,
        version: 1,
        name: name.to_owned(),
        keys,
        attributes,
        indexes,
        throughput,
        stream,
        ttl_attribute: None,
        ttl_backfill_pending: false,
        uuid: uuid::Uuid::new_v4().to_string(),
        deletion_protection: request.bool("DeletionProtectionEnabled")?.unwrap_or(false),
        table_class: request
            .enum_str(
                "TableClass",
                "tableClass",
                &["STANDARD", "STANDARD_INFREQUENT_ACCESS"],
            )?
            .map(str::to_owned),
        tags,
        created_at: now_f64(),
        next_space,
    })
}

fn parse_attribute_definitions(request: Obj<'_>) -> ApiResult<Vec<KeyDef>> {
    let list = request
        .objs("AttributeDefinitions")?
        .ok_or_else(|| missing("attributeDefinitions"))?;
    let mut attributes: Vec<KeyDef> = Vec::new();
    for (i, entry) in list.iter().enumerate() {
        let name = entry.required_str(
            "AttributeName",
            &format!("attributeDefinitions.{}.member.attributeName", i + 1),
        )?;
        let kind = entry.required_str(
            "AttributeType",
            &format!("attributeDefinitions.{}.member.attributeType", i + 1),
        )?;
        let kind = ScalarType::parse(kind).ok_or_else(|| {
            constraint(
                &format!("'{kind}'"),
                &format!("attributeDefinitions.{}.member.attributeType", i + 1),
                "Member must satisfy enum value set: [B, N, S]",
            )
        })?;
        if attributes.iter().any(|a| a.name == name) {
            return Err(ApiError::validation(format!(
                "Cannot have two attributes with the same name: {name}"
            )));
        }
        attributes.push(KeyDef {
            name: name.to_owned(),
            kind,
        });
    }
    Ok(attributes)
}

fn parse_key_schema(list: &[Obj<'_>], attributes: &[KeyDef], path: &str) -> ApiResult<KeySchema> {
    if list.is_empty() || list.len() > 2 {
        return Err(constraint(
            "[]",
            path,
            if list.is_empty() {
                "Member must have length greater than or equal to 1"
            } else {
                "Member must have length less than or equal to 2"
            },
        ));
    }
    let mut elements = Vec::new();
    for (i, entry) in list.iter().enumerate() {
        let name = entry.required_str(
            "AttributeName",
            &format!("{path}.{}.member.attributeName", i + 1),
        )?;
        let key_type = entry
            .enum_str(
                "KeyType",
                &format!("{path}.{}.member.keyType", i + 1),
                &["HASH", "RANGE"],
            )?
            .ok_or_else(|| missing(&format!("{path}.{}.member.keyType", i + 1)))?;
        elements.push((name, key_type));
    }
    if elements[0].1 != "HASH" {
        return Err(ApiError::validation(
            "Invalid KeySchema: The first KeySchemaElement is not a HASH key type",
        ));
    }
    if let Some(second) = elements.get(1) {
        if second.1 != "RANGE" {
            return Err(ApiError::validation(
                "Invalid KeySchema: The second KeySchemaElement is not a RANGE key type",
            ));
        }
        if second.0 == elements[0].0 {
            return Err(ApiError::validation(
                "Both the Hash Key and the Range Key element in the KeySchema have the same name",
            ));
        }
    }
    let lookup = |name: &str| {
        attributes.iter().find(|a| a.name == name).cloned().ok_or_else(|| {
            ApiError::validation(format!(
                "One or more parameter values were invalid: Some index key attributes are not defined in AttributeDefinitions. Keys: [{}], AttributeDefinitions: [{}]",
                elements.iter().map(|e| e.0).collect::<Vec<_>>().join(", "),
                attributes.iter().map(|a| a.name.as_str()).collect::<Vec<_>>().join(", ")
            ))
        })
    };
    Ok(KeySchema {
        partition: lookup(elements[0].0)?,
        sort: elements.get(1).map(|e| lookup(e.0)).transpose()?,
    })
}

fn parse_billing(
    billing: Option<&str>,
    throughput: Option<Obj<'_>>,
) -> ApiResult<Option<Throughput>> {
    match (billing.unwrap_or("PROVISIONED"), throughput) {
        ("PAY_PER_REQUEST", None) => Ok(None),
        ("PAY_PER_REQUEST", Some(_)) => Err(ApiError::validation(
            "One or more parameter values were invalid: Neither ReadCapacityUnits nor WriteCapacityUnits can be specified when BillingMode is PAY_PER_REQUEST",
        )),
        (_, None) => Err(ApiError::validation(
            "One or more parameter values were invalid: ReadCapacityUnits and WriteCapacityUnits must both be specified when BillingMode is PROVISIONED",
        )),
        (_, Some(obj)) => parse_throughput(obj, "provisionedThroughput").map(Some),
    }
}

fn parse_throughput(obj: Obj<'_>, path: &str) -> ApiResult<Throughput> {
    let read = obj
        .i64("ReadCapacityUnits")?
        .ok_or_else(|| missing(&format!("{path}.readCapacityUnits")))?;
    let write = obj
        .i64("WriteCapacityUnits")?
        .ok_or_else(|| missing(&format!("{path}.writeCapacityUnits")))?;
    for (value, member) in [(read, "readCapacityUnits"), (write, "writeCapacityUnits")] {
        if value < 1 {
            return Err(constraint(
                &value.to_string(),
                &format!("{path}.{member}"),
                "Member must have value greater than or equal to 1",
            ));
        }
    }
    Ok(Throughput { read, write })
}

fn parse_index_throughput(
    obj: Obj<'_>,
    provisioned: bool,
    name: &str,
) -> ApiResult<Option<Throughput>> {
    match (provisioned, obj.obj("ProvisionedThroughput")?) {
        (true, Some(t)) => {
            parse_throughput(t, "globalSecondaryIndexes.member.provisionedThroughput").map(Some)
        }
        (true, None) => Err(ApiError::validation(format!(
            "One or more parameter values were invalid: ProvisionedThroughput must be specified for index: {name}"
        ))),
        (false, Some(_)) => Err(ApiError::validation(format!(
            "One or more parameter values were invalid: ProvisionedThroughput should not be specified for index: {name} when BillingMode is PAY_PER_REQUEST"
        ))),
        (false, None) => Ok(None),
    }
}

fn parse_index(
    obj: Obj<'_>,
    attributes: &[KeyDef],
    global: bool,
    path: &str,
) -> ApiResult<IndexDef> {
    let name = obj.required_str("IndexName", &format!("{path}.member.indexName"))?;
    check_name(name, &format!("{path}.member.indexName"))?;
    let key_schema = obj
        .objs("KeySchema")?
        .ok_or_else(|| missing(&format!("{path}.member.keySchema")))?;
    let keys = parse_key_schema(&key_schema, attributes, &format!("{path}.member.keySchema"))?;
    let projection = obj
        .obj("Projection")?
        .ok_or_else(|| missing(&format!("{path}.member.projection")))?;
    let projection = parse_projection(projection, path)?;
    Ok(IndexDef {
        space: 0,
        name: name.to_owned(),
        global,
        keys,
        projection,
        throughput: None,
        status: IndexStatus::Active,
    })
}

fn parse_projection(obj: Obj<'_>, path: &str) -> ApiResult<ProjectionDef> {
    let kind = obj
        .enum_str(
            "ProjectionType",
            &format!("{path}.member.projection.projectionType"),
            &["ALL", "KEYS_ONLY", "INCLUDE"],
        )?
        .unwrap_or("ALL");
    let non_key = obj.list("NonKeyAttributes")?;
    let non_key: Option<Vec<String>> = non_key
        .map(|list| {
            list.iter()
                .map(|v| {
                    v.as_str().map(str::to_owned).ok_or_else(|| {
                        ApiError::serialization("NonKeyAttributes must be a list of strings")
                    })
                })
                .collect()
        })
        .transpose()?;
    match (kind, non_key) {
        ("INCLUDE", Some(names)) if !names.is_empty() => Ok(ProjectionDef::Include(names)),
        ("INCLUDE", _) => Err(ApiError::validation(
            "One or more parameter values were invalid: ProjectionType is INCLUDE, but NonKeyAttributes is not specified",
        )),
        (kind, Some(_)) => Err(ApiError::validation(format!(
            "One or more parameter values were invalid: ProjectionType is {kind}, but NonKeyAttributes is specified"
        ))),
        ("KEYS_ONLY", None) => Ok(ProjectionDef::KeysOnly),
        _ => Ok(ProjectionDef::All),
    }
}

fn check_index_names(indexes: &[IndexDef]) -> ApiResult<()> {
    for (i, index) in indexes.iter().enumerate() {
        if indexes[..i].iter().any(|other| other.name == index.name) {
            return Err(ApiError::validation(format!(
                "One or more parameter values were invalid: Duplicate index name: {}",
                index.name
            )));
        }
    }
    Ok(())
}

fn check_projected_attributes(indexes: &[IndexDef]) -> ApiResult<()> {
    let projected: usize = indexes
        .iter()
        .map(|i| match &i.projection {
            ProjectionDef::Include(names) => names.len(),
            _ => 0,
        })
        .sum();
    if projected > PROJECTED_ATTRIBUTES_MAX {
        return Err(ApiError::validation(format!(
            "One or more parameter values were invalid: Number of projected attributes in all indexes exceeds limit of {PROJECTED_ATTRIBUTES_MAX}, number of projected attributes: {projected}"
        )));
    }
    Ok(())
}

/// `Some(Some(view))` to enable, `Some(None)` to disable, `None` when not given.
fn parse_stream_spec(request: Obj<'_>) -> ApiResult<Option<Option<String>>> {
    let Some(spec) = request.obj("StreamSpecification")? else {
        return Ok(None);
    };
    let enabled = spec
        .bool("StreamEnabled")?
        .ok_or_else(|| missing("streamSpecification.streamEnabled"))?;
    let view = spec.enum_str(
        "StreamViewType",
        "streamSpecification.streamViewType",
        STREAM_VIEW_TYPES,
    )?;
    match (enabled, view) {
        (true, Some(view)) => Ok(Some(Some(view.to_owned()))),
        (true, None) => Err(ApiError::validation(
            "One or more parameter values were invalid: You must specify a StreamViewType when enabling a stream",
        )),
        (false, Some(_)) => Err(ApiError::validation(
            "One or more parameter values were invalid: You cannot specify a StreamViewType when disabling a stream",
        )),
        (false, None) => Ok(Some(None)),
    }
}

pub(crate) fn stream_def(view_type: String) -> StreamDef {
    let now = time::OffsetDateTime::now_utc();
    let label = now
        .format(time::macros::format_description!(
            "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]"
        ))
        .unwrap_or_default();
    StreamDef {
        id: 0,
        view_type,
        label,
    }
}

fn parse_tags(request: Obj<'_>) -> ApiResult<Vec<(String, String)>> {
    let Some(tags) = request.objs("Tags")? else {
        return Ok(Vec::new());
    };
    tags.iter()
        .map(|tag| {
            Ok((
                tag.required_str("Key", "tags.member.key")?.to_owned(),
                tag.required_str("Value", "tags.member.value")?.to_owned(),
            ))
        })
        .collect()
}

pub fn describe_table(inner: &Inner, request: Obj<'_>) -> ApiResult<Value> {
    let name = request::table_name(&request, "TableName", "tableName")?;
    let def = inner.catalog.require(name)?;
    Ok(json!({ "Table": describe(inner, &def, Moment::Active)? }))
}

fn describe(inner: &Inner, def: &TableDef, moment: Moment) -> ApiResult<Value> {
    let read = inner.store.read()?;
    let counter = read_counter(&read, def.id, keys::TABLE_SPACE)?;
    let arn = inner.table_arn(&def.name);
    let status = match moment {
        Moment::Creating => "CREATING",
        Moment::Active => "ACTIVE",
        Moment::Updating => "UPDATING",
        Moment::Deleting => "DELETING",
    };
    let mut table = json!({
        "TableName": def.name,
        "TableArn": arn,
        "TableId": def.uuid,
        "TableStatus": status,
        "CreationDateTime": def.created_at,
        "KeySchema": def.keys.to_json(),
        "AttributeDefinitions": def.attributes.iter().map(|a| json!({
            "AttributeName": a.name, "AttributeType": a.kind.as_str()
        })).collect::<Vec<_>>(),
        "ProvisionedThroughput": throughput_json(def.throughput),
        "ItemCount": counter.items,
        "TableSizeBytes": counter.bytes,
        "DeletionProtectionEnabled": def.deletion_protection,
    });
    let fields = table
        .as_object_mut()
        .ok_or_else(|| ApiError::internal("description"))?;
    if def.throughput.is_none() {
        fields.insert(
            "BillingModeSummary".to_owned(),
            json!({"BillingMode": "PAY_PER_REQUEST", "LastUpdateToPayPerRequestDateTime": def.created_at}),
        );
    }
    if let Some(class) = &def.table_class {
        fields.insert("TableClassSummary".to_owned(), json!({"TableClass": class}));
    }
    let mut gsis = Vec::new();
    let mut lsis = Vec::new();
    for index in &def.indexes {
        let counter = read_counter(&read, def.id, index.space)?;
        let mut described = json!({
            "IndexName": index.name,
            "KeySchema": index.keys.to_json(),
            "Projection": index.projection.to_json(),
            "IndexArn": format!("{arn}/index/{}", index.name),
            "ItemCount": counter.items,
            "IndexSizeBytes": counter.bytes,
        });
        if index.global {
            let creating = index.status == IndexStatus::Creating;
            let index_status = match moment {
                Moment::Creating => "CREATING",
                Moment::Deleting => "DELETING",
                _ if creating => "CREATING",
                _ => "ACTIVE",
            };
            if let Some(object) = described.as_object_mut() {
                object.insert("IndexStatus".to_owned(), json!(index_status));
                object.insert(
                    "ProvisionedThroughput".to_owned(),
                    throughput_json(index.throughput),
                );
                if creating {
                    object.insert("Backfilling".to_owned(), json!(true));
                }
            }
            gsis.push(described);
        } else {
            lsis.push(described);
        }
    }
    if !gsis.is_empty() {
        fields.insert("GlobalSecondaryIndexes".to_owned(), Value::Array(gsis));
    }
    if !lsis.is_empty() {
        fields.insert("LocalSecondaryIndexes".to_owned(), Value::Array(lsis));
    }
    if let Some(stream) = &def.stream {
        fields.insert(
            "StreamSpecification".to_owned(),
            json!({"StreamEnabled": true, "StreamViewType": stream.view_type}),
        );
        fields.insert("LatestStreamLabel".to_owned(), json!(stream.label));
        fields.insert(
            "LatestStreamArn".to_owned(),
            json!(format!("{arn}/stream/{}", stream.label)),
        );
    }
    Ok(table)
}

fn throughput_json(throughput: Option<Throughput>) -> Value {
    let (read, write) = throughput.map_or((0, 0), |t| (t.read, t.write));
    json!({"NumberOfDecreasesToday": 0, "ReadCapacityUnits": read, "WriteCapacityUnits": write})
}

pub fn list_tables(inner: &Inner, request: Obj<'_>) -> ApiResult<Value> {
    let limit = match request.i64("Limit")? {
        None => LIST_TABLES_LIMIT_MAX,
        Some(limit) if (1..=LIST_TABLES_LIMIT_MAX as i64).contains(&limit) => limit as usize,
        Some(limit) => {
            return Err(constraint(
                &limit.to_string(),
                "limit",
                if limit < 1 {
                    "Member must have value greater than or equal to 1"
                } else {
                    "Member must have value less than or equal to 100"
                },
            ));
        }
    };
    let start = request.str("ExclusiveStartTableName")?;
    if let Some(start) = start {
        check_name(start, "exclusiveStartTableName")?;
    }
    let tables = inner.catalog.all();
    let names: Vec<&String> = tables
        .keys()
        .filter(|name| start.is_none_or(|start| name.as_str() > start))
        .take(limit + 1)
        .collect();
    let more = names.len() > limit;
    let page: Vec<&String> = names.into_iter().take(limit).collect();
    let mut answer = json!({ "TableNames": page });
    if more && let (Some(last), Some(object)) = (page.last(), answer.as_object_mut()) {
        object.insert("LastEvaluatedTableName".to_owned(), json!(last));
    }
    Ok(answer)
}

pub async fn delete_table(inner: &Inner, request: Obj<'_>) -> ApiResult<Value> {
    let name = request::table_name(&request, "TableName", "tableName")?.to_owned();
    let _ddl = inner.ddl.lock().await;
    let def = inner.catalog.require(&name)?;
    if def.deletion_protection {
        return Err(ApiError::validation(format!(
            "Resource cannot be deleted as it is currently protected against deletion. Disable deletion protection first. Table: {name}"
        )));
    }
    let description = describe(inner, &def, Moment::Deleting)?;
    let expected = Arc::clone(&def);
    inner
        .store
        .write(move |txn| -> ApiResult<()> {
            let current = catalog::current_def(txn, &expected)?;
            streams::sync(txn, Some(&current), None)?;
            catalog::delete_def(txn, &current.name)?;
            txn.put(&keys::garbage_key(current.id), &[])?;
            Ok(())
        })
        .await??;
    inner.catalog.publish(&name, None);
    inner.work.notify_one();
    Ok(json!({ "TableDescription": description }))
}

pub async fn update_table(inner: &Inner, request: Obj<'_>) -> ApiResult<Value> {
    let name = request::table_name(&request, "TableName", "tableName")?.to_owned();
    let _ddl = inner.ddl.lock().await;
    let current = inner.catalog.require(&name)?;
    let mut def = TableDef::clone(&current);
    let mut changed = false;

    let billing = request.enum_str(
        "BillingMode",
        "billingMode",
        &["PROVISIONED", "PAY_PER_REQUEST"],
    )?;
    let throughput = request.obj("ProvisionedThroughput")?;
    if billing.is_some() || throughput.is_some() {
        def.throughput = match billing {
            Some(mode) => parse_billing(Some(mode), throughput)?,
            None => Some(parse_throughput(
                throughput.ok_or_else(|| missing("provisionedThroughput"))?,
                "provisionedThroughput",
            )?),
        };
        changed = true;
    }
    if let Some(protection) = request.bool("DeletionProtectionEnabled")? {
        def.deletion_protection = protection;
        changed = true;
    }
    if let Some(stream) = parse_stream_spec(request)? {
        match (stream, &def.stream) {
            (Some(_), Some(_)) => {
                return Err(ApiError::new(
                    ErrorCode::ResourceInUse,
                    format!("Table already has an enabled stream: TableName: {name}"),
                ));
            }
            (None, None) => {
                return Err(ApiError::validation(format!(
                    "Table already has stream disabled: TableName: {name}"
                )));
            }
            (Some(view), None) => def.stream = Some(stream_def(view)),
            (None, Some(_)) => def.stream = None,
        }
        changed = true;
    }

    let mut created_index = false;
    if let Some(updates) = request.objs("GlobalSecondaryIndexUpdates")? {
        let structural = updates
            .iter()
            .filter(|u| u.has("Create") || u.has("Delete"))
            .count();
        if structural > 1 {
            return Err(ApiError::new(
                ErrorCode::LimitExceeded,
                "Subscriber limit exceeded: Only 1 online index can be created or deleted simultaneously per table",
            ));
        }
        let mut attributes = def.attributes.clone();
        if request.has("AttributeDefinitions") {
            for attribute in parse_attribute_definitions(request)? {
                match attributes.iter().find(|a| a.name == attribute.name) {
                    Some(existing) if existing.kind != attribute.kind => {
                        return Err(ApiError::validation(format!(
                            "One or more parameter values were invalid: Attribute {} is already defined with type {}",
                            attribute.name,
                            existing.kind.as_str()
                        )));
                    }
                    Some(_) => {}
                    None => attributes.push(attribute),
                }
            }
        }
        for update in updates {
            if let Some(create) = update.obj("Create")? {
                let mut index = parse_index(
                    create,
                    &attributes,
                    true,
                    "globalSecondaryIndexUpdates.member.create",
                )?;
                if def.index(&index.name).is_some() {
                    return Err(ApiError::validation(format!(
                        "One or more parameter values were invalid: Index with name: {} already exists",
                        index.name
                    )));
                }
                if def.indexes.iter().filter(|i| i.global).count() >= GSIS_MAX {
                    return Err(ApiError::new(
                        ErrorCode::LimitExceeded,
                        format!(
                            "Subscriber limit exceeded: a table may have at most {GSIS_MAX} global secondary indexes"
                        ),
                    ));
                }
                if def.next_space >= keys::TTL_SPACE {
                    return Err(ApiError::new(
                        ErrorCode::LimitExceeded,
                        "Subscriber limit exceeded: this table has created too many indexes over its lifetime",
                    ));
                }
                index.throughput =
                    parse_index_throughput(create, def.throughput.is_some(), &index.name)?;
                index.space = def.next_space;
                index.status = IndexStatus::Creating;
                def.next_space += 1;
                def.indexes.push(index);
                created_index = true;
            } else if let Some(delete) = update.obj("Delete")? {
                let index_name = delete.required_str(
                    "IndexName",
                    "globalSecondaryIndexUpdates.member.delete.indexName",
                )?;
                let Some(position) = def
                    .indexes
                    .iter()
                    .position(|i| i.global && i.name == index_name)
                else {
                    return Err(ApiError::new(
                        ErrorCode::ResourceNotFound,
                        format!(
                            "Requested resource not found: Index: {index_name} not found on table {name}"
                        ),
                    ));
                };
                def.indexes.remove(position);
            } else if let Some(change) = update.obj("Update")? {
                let index_name = change.required_str(
                    "IndexName",
                    "globalSecondaryIndexUpdates.member.update.indexName",
                )?;
                let throughput = change.obj("ProvisionedThroughput")?.ok_or_else(|| {
                    missing("globalSecondaryIndexUpdates.member.update.provisionedThroughput")
                })?;
                let throughput = parse_throughput(
                    throughput,
                    "globalSecondaryIndexUpdates.member.update.provisionedThroughput",
                )?;
                let Some(index) = def
                    .indexes
                    .iter_mut()
                    .find(|i| i.global && i.name == index_name)
                else {
                    return Err(ApiError::new(
                        ErrorCode::ResourceNotFound,
                        format!(
                            "Requested resource not found: Index: {index_name} not found on table {name}"
                        ),
                    ));
                };
                index.throughput = Some(throughput);
            } else {
                return Err(ApiError::validation(
                    "One or more parameter values were invalid: One of GlobalSecondaryIndexUpdate.Create, Update or Delete must be specified",
                ));
            }
            changed = true;
        }
        // Keep exactly the attribute definitions the keys still use.
        attributes.retain(|a| def.is_any_key(&a.name));
        def.attributes = attributes;
        check_projected_attributes(&def.indexes)?;
    }
    if !changed {
        return Err(ApiError::validation(
            "At least one of ProvisionedThroughput, BillingMode, UpdateStreamEnabled, GlobalSecondaryIndexUpdates or SSESpecification or ReplicaUpdates is required",
        ));
    }
    let removed_spaces: Vec<u8> = current
        .indexes
        .iter()
        .filter(|old| !def.indexes.iter().any(|i| i.space == old.space))
        .map(|old| old.space)
        .collect();
    let def = commit_change(inner, &current, def, removed_spaces).await?;
    if created_index {
        inner.work.notify_one();
    }
    Ok(json!({ "TableDescription": describe(inner, &def, Moment::Updating)? }))
}

/// Commits a changed definition (version advanced here), and marks the spaces of removed
/// indexes for dropping in the background.
pub(crate) async fn commit_change(
    inner: &Inner,
    current: &Arc<TableDef>,
    mut def: TableDef,
    removed_spaces: Vec<u8>,
) -> ApiResult<TableDef> {
    def.version = current.version + 1;
    let drops = !removed_spaces.is_empty();
    let expected = Arc::clone(current);
    let def = inner
        .store
        .write(move |txn| -> ApiResult<TableDef> {
            let mut def = def;
            let now = catalog::current_def(txn, &expected)?;
            if now.version != expected.version {
                return Err(ApiError::new(
                    ErrorCode::ResourceInUse,
                    format!(
                        "Attempt to change a resource which is still in use: Table: {}",
                        def.name
                    ),
                ));
            }
            streams::sync(txn, Some(&now), Some(&mut def))?;
            catalog::write_def(txn, &def)?;
            for space in &removed_spaces {
                txn.put(&keys::garbage_space_key(def.id, *space), &[])?;
            }
            if def.ttl_backfill_pending {
                // TTL enabled again before its old queue was dropped: the backfill rebuilds it.
                txn.delete(&keys::garbage_space_key(def.id, keys::TTL_SPACE))?;
            }
            Ok(def)
        })
        .await??;
    inner.catalog.publish(&def.name, Some(def.clone()));
    if drops {
        inner.work.notify_one();
    }
    Ok(def)
}

pub async fn update_time_to_live(inner: &Inner, request: Obj<'_>) -> ApiResult<Value> {
    let name = request::table_name(&request, "TableName", "tableName")?.to_owned();
    let spec = request
        .obj("TimeToLiveSpecification")?
        .ok_or_else(|| missing("timeToLiveSpecification"))?;
    let enabled = spec
        .bool("Enabled")?
        .ok_or_else(|| missing("timeToLiveSpecification.enabled"))?;
    let attribute = spec.required_str("AttributeName", "timeToLiveSpecification.attributeName")?;
    if attribute.is_empty() || attribute.len() > 255 {
        return Err(constraint(
            &format!("'{attribute}'"),
            "timeToLiveSpecification.attributeName",
            "Member must have length between 1 and 255",
        ));
    }
    let _ddl = inner.ddl.lock().await;
    let current = inner.catalog.require(&name)?;
    let def = set_ttl(&current, enabled.then(|| attribute.to_owned()))?;
    let removed = if enabled {
        vec![]
    } else {
        vec![keys::TTL_SPACE]
    };
    commit_change(inner, &current, def, removed).await?;
    if enabled {
        inner.work.notify_one();
    }
    Ok(json!({ "TimeToLiveSpecification": { "Enabled": enabled, "AttributeName": attribute } }))
}

/// The definition with TTL enabled on `attribute`, or disabled; DynamoDB's errors for no-ops.
pub(crate) fn set_ttl(current: &TableDef, attribute: Option<String>) -> ApiResult<TableDef> {
    let mut def = current.clone();
    match (&current.ttl_attribute, attribute) {
        (Some(_), Some(_)) => Err(ApiError::validation("TimeToLive is already enabled")),
        (None, None) => Err(ApiError::validation("TimeToLive is already disabled")),
        (None, Some(attribute)) => {
            def.ttl_attribute = Some(attribute);
            def.ttl_backfill_pending = true;
            Ok(def)
        }
        (Some(_), None) => {
            def.ttl_attribute = None;
            def.ttl_backfill_pending = false;
            Ok(def)
        }
    }
}

pub fn describe_time_to_live(inner: &Inner, request: Obj<'_>) -> ApiResult<Value> {
    let name = request::table_name(&request, "TableName", "tableName")?;
    let def = inner.catalog.require(name)?;
    Ok(match &def.ttl_attribute {
        Some(attribute) => json!({ "TimeToLiveDescription": {
            "TimeToLiveStatus": "ENABLED", "AttributeName": attribute
        }}),
        None => json!({ "TimeToLiveDescription": { "TimeToLiveStatus": "DISABLED" } }),
    })
}

pub(crate) fn now_f64() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0.0, |d| (d.as_millis() as f64) / 1000.0)
}
