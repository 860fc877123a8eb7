package dev.accord.client

import dev.accord.AccordRecord
import dev.accord.ChangeEvent
import dev.accord.FieldFilter
import dev.accord.RecordData
import dev.accord.RecordQuery
import kotlinx.coroutines.flow.Flow
import kotlinx.coroutines.flow.channelFlow
import kotlinx.coroutines.flow.conflate
import kotlinx.coroutines.flow.distinctUntilChanged
import kotlinx.coroutines.flow.map
import kotlinx.serialization.KSerializer

/**
 * One collection seen as Kotlin objects (a `@Serializable` data class), the way a Room
 * DAO shows a table: suspend reads and writes, filtered and ordered queries, and `Flow`s
 * of one record ([observe]), of a query ([observeQuery]) and of the whole collection
 * ([observeAll]).
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
     * Records matching every filter of [where] (`field("due") lt 5`, see [Field]),
     * ordered by [orderBy] (by id when `null`; ties by id), at most [limit] after
     * skipping [offset]. SQLite filters, orders and pages: only the matching rows are
     * read, and an index ([AccordClient.createIndex]) on a filtered or ordered field
     * saves reading the rest of the collection.
     */
    suspend fun query(
        where: List<FieldFilter> = emptyList(),
        orderBy: String? = null,
        descending: Boolean = false,
        limit: Int? = null,
        offset: Int = 0,
    ): List<T> = client.query(RecordQuery(name, where, orderBy, descending, limit, offset)).map(::decode)

    /** [query] with one `field == value` filter. */
    suspend fun where(field: String, value: Any?): List<T> = query(where = listOf(field(field) eq value))

    /** Creates (if missing) an index on [field] of this collection; see [AccordClient.createIndex]. */
    suspend fun createIndex(field: String) = client.createIndex(name, field)

    /**
     * The record [id] now (`null` when absent), then again each time it changes, locally
     * or by a sync; deleting it emits `null`. Changes to other records do not re-read it,
     * and an unchanged value is not emitted twice. Completes when the client closes.
     */
    fun observe(id: String): Flow<T?> = channelFlow {
        client.changes(name) { send(Unit) }.collect { if (id in it.ids) send(Unit) }
    }.conflate().map { get(id) }.distinctUntilChanged()

    /**
     * The result of [query] now, then again after each change to this collection
     * (conflated: a slow collector gets the latest result). Each emission runs the query
     * in SQLite (filtered, ordered, paged), not a re-read of the whole collection; an
     * unchanged result is not emitted twice. Completes when the client closes.
     */
    fun observeQuery(
        where: List<FieldFilter> = emptyList(),
        orderBy: String? = null,
        descending: Boolean = false,
        limit: Int? = null,
        offset: Int = 0,
    ): Flow<List<T>> = channelFlow {
        client.changes(name) { send(Unit) }.collect { send(Unit) }
    }.conflate().map { query(where, orderBy, descending, limit, offset) }.distinctUntilChanged()

    /**
     * The merges of this collection's records waiting for a person, typed: each side
     * decoded as [T] (`null` for a side that was a delete). Emits now, and again when the
     * list changed after a sync or a resolution.
     */
    fun openConflicts(): Flow<List<RecordConflict<T>>> = client.openConflicts().map { all ->
        all.filter { it.collection == name }.map { c ->
            RecordConflict(
                conflictId = c.conflictId,
                id = c.id,
                base = c.baseJson?.let(::decodeJson),
                local = c.localJson?.let(::decodeJson),
                remote = c.remoteJson?.let(::decodeJson),
                merged = c.resultJson?.let(::decodeJson),
                suggested = c.suggestedJson?.let(::decodeJson),
                suggestion = c.suggestion,
                strategy = c.strategy,
                createdMs = c.createdMs,
            )
        }
    }

    private fun decodeJson(text: String): T = json.decodeFromString(serializer, text)

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

/** A merge of one record waiting for review, its sides decoded (`null`: that side was a
 * delete, or there was no common ancestor). Settle it with [AccordClient.resolveConflict]. */
data class RecordConflict<T>(
    /** The conflict log id, for [AccordClient.resolveConflict]. */
    val conflictId: Long,
    /** The record's id. */
    val id: String,
    /** The common ancestor both sides edited. */
    val base: T?,
    /** This device's version. */
    val local: T?,
    /** The server's version. */
    val remote: T?,
    /** What the merge wrote (both sides kept, local first, for an overlapping edit). */
    val merged: T?,
    /** What the merge suggests a person accept (both sides' edits composed where they
     * stand side by side, else the likelier side); [ConflictResolution.Suggested] applies
     * it on top of edits made since. `null` when there is nothing to suggest. */
    val suggested: T?,
    /** Why the suggestion is what it is, in words, for the review screen. */
    val suggestion: String?,
    /** How it was decided (`fallback`, `arbiter:...`, `delete-vs-edit`, `maybe-applied`). */
    val strategy: String,
    /** When it was logged, milliseconds since the Unix epoch. */
    val createdMs: Long,
)
