package dev.accord.sample

import android.content.Intent
import android.os.Bundle
import android.widget.ArrayAdapter
import android.widget.Button
import android.widget.ListView
import android.widget.TextView
import androidx.appcompat.app.AppCompatActivity
import androidx.lifecycle.Lifecycle
import androidx.lifecycle.lifecycleScope
import androidx.lifecycle.repeatOnLifecycle
import androidx.work.WorkInfo
import androidx.work.WorkManager
import dev.accord.AccordException
import kotlinx.coroutines.launch

/** The notes list. It follows the store (`observeAll`), so local edits and synced
 * changes both show up without a refresh. */
class NotesActivity : AppCompatActivity() {
    private var shown: List<Note> = emptyList()

    override fun onCreate(savedInstanceState: Bundle?) {
        super.onCreate(savedInstanceState)
        setContentView(R.layout.activity_notes)
        val list = view<ListView>(R.id.notes)
        val status = view<TextView>(R.id.sync_status)
        val adapter = ArrayAdapter<String>(this, android.R.layout.simple_list_item_2, android.R.id.text1)
        list.adapter = adapter
        list.setOnItemClickListener { _, _, position, _ ->
            shown.getOrNull(position)?.let { startActivity(EditNoteActivity.intent(this, it.id)) }
        }
        view<Button>(R.id.new_note).setOnClickListener {
            startActivity(Intent(this, EditNoteActivity::class.java))
        }
        view<Button>(R.id.sync_now).setOnClickListener { SyncScheduler.syncNow(this) }

        lifecycleScope.launch {
            repeatOnLifecycle(Lifecycle.State.STARTED) {
                try {
                    accord().notes().observeAll().collect { notes ->
                        shown = notes.sortedBy { it.title.lowercase() }
                        adapter.clear()
                        adapter.addAll(shown.map { it.title.ifBlank { "(untitled)" } })
                    }
                } catch (e: AccordException) {
                    status.text = e.message
                }
            }
        }
        WorkManager.getInstance(this).getWorkInfosForUniqueWorkLiveData(SyncScheduler.NOW)
            .observe(this) { infos -> status.text = infos.firstOrNull()?.let(::describe).orEmpty() }
    }

    private fun describe(info: WorkInfo): String = when (info.state) {
        WorkInfo.State.RUNNING -> {
            val phase = info.progress.getString(SyncWorker.PHASE) ?: "starting"
            "Syncing: $phase ${info.progress.getLong(SyncWorker.DONE, 0)}"
        }
        WorkInfo.State.SUCCEEDED -> "Synced: ${info.outputData.getLong(SyncWorker.PULLED, 0)} in, " +
            "${info.outputData.getLong(SyncWorker.PUSHED, 0)} out, " +
            "${info.outputData.getLong(SyncWorker.MERGED, 0)} merged"
        WorkInfo.State.FAILED -> "Sync failed: ${info.outputData.getString(SyncWorker.REASON)}"
        WorkInfo.State.ENQUEUED -> "Sync waiting for a network"
        else -> ""
    }
}
