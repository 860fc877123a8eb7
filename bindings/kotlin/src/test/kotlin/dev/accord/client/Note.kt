package dev.accord.client

import kotlinx.serialization.Serializable

/** The record the tests store: what a notes app keeps. */
@Serializable
data class Note(
    val id: String,
    val title: String,
    val body: String = "",
    val tags: List<String> = emptyList(),
)

fun AccordClient.notes() = collection("notes", Note.serializer()) { it.id }
