package dev.accord.sample

import android.content.Context
import android.content.Intent
import android.os.Bundle
import android.widget.Button
import android.widget.EditText
import android.widget.Toast
import androidx.appcompat.app.AppCompatActivity
import androidx.lifecycle.lifecycleScope
import dev.accord.AccordException
import java.util.UUID
import kotlinx.coroutines.launch

/** Edits one note (or a new one). Saving writes locally at once; sync sends it later. */
class EditNoteActivity : AppCompatActivity() {
    private lateinit var id: String

    override fun onCreate(savedInstanceState: Bundle?) {
        super.onCreate(savedInstanceState)
        setContentView(R.layout.activity_edit_note)
        // A recreated editor (rotation, process death) keeps the note it was editing: a
        // new note's id is made once, not on every recreation.
        id = savedInstanceState?.getString(STATE_ID)
            ?: intent.getStringExtra(EXTRA_ID)
            ?: UUID.randomUUID().toString()
        val title = view<EditText>(R.id.title)
        val body = view<EditText>(R.id.body)
        val save = view<Button>(R.id.save)

        if (savedInstanceState == null) {
            // Only a fresh editor loads the stored note: after a recreation the EditTexts
            // restored the user's unsaved text, which the stored copy must not overwrite.
            // Saving waits for the load, so a quick tap cannot write an empty note over it.
            save.isEnabled = false
            lifecycleScope.launch {
                try {
                    accord().notes().get(id)?.let {
                        title.setText(it.title)
                        body.setText(it.body)
                    }
                } catch (e: AccordException) {
                    Toast.makeText(this@EditNoteActivity, e.message, Toast.LENGTH_LONG).show()
                }
                save.isEnabled = true
            }
        }
        save.setOnClickListener {
            val note = Note(id, title.text.toString(), body.text.toString())
            saveAndClose { accord().notes().put(note) }
        }
        view<Button>(R.id.delete).setOnClickListener {
            saveAndClose { accord().notes().delete(id) }
        }
    }

    override fun onSaveInstanceState(outState: Bundle) {
        super.onSaveInstanceState(outState)
        outState.putString(STATE_ID, id)
    }

    /** Runs a store call, closes the editor when it worked, says why when it did not. */
    private fun saveAndClose(write: suspend () -> Unit) {
        lifecycleScope.launch {
            try {
                write()
                finish()
            } catch (e: AccordException) {
                Toast.makeText(this@EditNoteActivity, e.message, Toast.LENGTH_LONG).show()
            }
        }
    }

    companion object {
        private const val EXTRA_ID = "id"
        private const val STATE_ID = "note_id"

        fun intent(context: Context, id: String) =
            Intent(context, EditNoteActivity::class.java).putExtra(EXTRA_ID, id)
    }
}
