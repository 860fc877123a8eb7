package dev.accord.client

import dev.accord.AccordException
import dev.accord.FieldFilter
import dev.accord.FilterOp
import kotlinx.serialization.json.JsonArray
import kotlinx.serialization.json.JsonElement
import kotlinx.serialization.json.JsonNull
import kotlinx.serialization.json.JsonPrimitive

/**
 * A field of a record (a top-level name or a dot-separated path such as `author.name`),
 * to build query filters: `field("due") lt 5`, `field("status") isIn listOf("open",
 * "snoozed")`, `field("title") startsWith "Buy"`. Values are JSON scalars: strings,
 * numbers, booleans, `null`, or a [JsonElement]. Numbers compare as numbers and strings
 * byte by byte (case-sensitive); a number never matches a string. A value of another
 * type is refused with `AccordException.InvalidInput`.
 */
class Field(val name: String) {
    /** Equal to [value] (`null`: the field is missing or null). */
    infix fun eq(value: Any?) = filter(FilterOp.EQ, scalar(value))

    /** Less than [value]. */
    infix fun lt(value: Any) = filter(FilterOp.LT, scalar(value))

    /** Less than or equal to [value]. */
    infix fun le(value: Any) = filter(FilterOp.LE, scalar(value))

    /** Greater than [value]. */
    infix fun gt(value: Any) = filter(FilterOp.GT, scalar(value))

    /** Greater than or equal to [value]. */
    infix fun ge(value: Any) = filter(FilterOp.GE, scalar(value))

    /** Equal to one of [values] (none: nothing matches). */
    infix fun isIn(values: Collection<Any>) = filter(FilterOp.IN, JsonArray(values.map(::scalar)))

    /** A string starting with [prefix] (case-sensitive). */
    infix fun startsWith(prefix: String) = filter(FilterOp.PREFIX, JsonPrimitive(prefix))

    private fun filter(op: FilterOp, value: JsonElement) = FieldFilter(name, op, value.toString())

    private fun scalar(value: Any?): JsonElement = when (value) {
        null -> JsonNull
        is JsonElement -> value
        is String -> JsonPrimitive(value)
        is Number -> JsonPrimitive(value)
        is Boolean -> JsonPrimitive(value)
        else -> throw AccordException.InvalidInput(
            "filter on '$name': ${value::class.simpleName} is not a string, number, boolean or null",
        )
    }
}

/** The field [name], to build a filter: `field("due") lt 5`. */
fun field(name: String) = Field(name)
