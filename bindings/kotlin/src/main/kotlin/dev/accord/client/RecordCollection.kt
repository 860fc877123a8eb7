package dev.accord.client

import dev.accord.AccordRecord
import dev.accord.ChangeEvent
import dev.accord.FieldFilter
import dev.accord.RecordData
import dev.accord.RecordQuery
import kotlinx.coroutines.flow.Flow
import kotlinx.coroutines.flow.conflate
import kotlinx.coroutines.flow.channelFlow
import kotlinx.coroutines.flow.map
import kotlinx.serialization.KSerializer
import kotlinx.serialization.json.JsonElement
import kotlinx.serialization.json.JsonPrimitive

/**
 * One collection seen as Kotlin objects (a `@Serializable` data class), the way a Room
 * DAO shows a table: suspend reads and writes, and [observeAll] as a `Flow<List<T>>`.
 *
 * Made by [AccordClient.collection]. A record that no longer decodes as [T] (another app
 * version wrote it) raises `SerializationException` from the read that meets it.
 */
class RecordCollection<T> internal constructor(
    private val client: AccordClient,
    /** The collection's name. */
    val name: String,
    private val serializer: KSerializer<T>,
    private val idOf: (T) -> String,
) {
    private val json get() = AccordClient.json

    private fun encode(item: T): RecordData =
        RecordData(idOf(item), json.encodeToString(serializer, item))

    private fun decode(record: AccordRecord): T = json.decodeFromString(serializer, record.json)

    /** Creates or replaces [item]. */
    suspend fun put(item: T) {
        val r = encode(item)
        client.put(name, r.id, r.json)
    }

    /** Creates or replaces all [items] in one transaction and one native call. */
    suspend fun putAll(items: List<T>) = client.putMany(name, items.map(::encode))

    /** The record [id], or `null`. */
    suspend fun get(id: String): T? = client.get(name, id)?.let(::decode)

    /** Deletes [id]; false when there was nothing to delete. */
    suspend fun delete(id: String): Boolean = client.delete(name, id)

    /** Every record, by id. */
    suspend fun all(): List<T> = client.list(name).map(::decode)

    /**
     * Records whose fields equal [where] (values encoded as JSON), ordered by [orderBy]
     * (by id when `null`), at most [limit] after skipping [offset].
     */
    suspend fun query(
        where: Map<String, JsonElement> = emptyMap(),
        orderBy: String? = null,
        descending: Boolean = false,
        limit: Int? = null,
        offset: Int = 0,
    ): List<T> = client.query(
        RecordQuery(
            collection = name,
            filters = where.map { (field, value) -> FieldFilter(field, value.toString()) },
            orderBy = orderBy,
            descending = descending,
            limit = limit,
            offset = offset,
        ),
    ).map(::decode)

    /** [query] with one `field == value` filter on a string value. */
    suspend fun where(field: String, value: String): List<T> =
        query(where = mapOf(field to JsonPrimitive(value)))

    /** Changes to this collection, local or synced. */
    fun changes(): Flow<ChangeEvent> = client.changes(name)

    /**
     * Every record now, then again after each change (conflated: a slow collector gets
     * the latest list, not every intermediate one). The first list is read after the
     * observer is in place, so no change between the two is missed. Completes when the
     * client closes.
     */
    fun observeAll(): Flow<List<T>> = channelFlow {
        client.changes(name) { send(Unit) }.collect { send(Unit) }
    }.conflate().map { all() }
}
