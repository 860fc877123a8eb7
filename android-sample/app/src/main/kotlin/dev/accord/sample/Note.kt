package dev.accord.sample

import dev.accord.client.AccordClient
import kotlinx.serialization.Serializable

/** A note. `body` is merged line by line, then word by word, when two devices edit it. */
@Serializable
data class Note(val id: String, val title: String, val body: String = "")

/** The app's one collection. */
fun AccordClient.notes() = collection("notes", Note.serializer()) { it.id }
