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
        id = intent.getStringExtra(EXTRA_ID) ?: UUID.randomUUID().toString()
        val title = findViewById<EditText>(R.id.title)
        val body = findViewById<EditText>(R.id.body)

        lifecycleScope.launch {
            accord.notes().get(id)?.let {
                title.setText(it.title)
                body.setText(it.body)
            }
        }
        findViewById<Button>(R.id.save).setOnClickListener {
            saveAndClose { accord.notes().put(Note(id, title.text.toString(), body.text.toString())) }
        }
        findViewById<Button>(R.id.delete).setOnClickListener {
            saveAndClose { accord.notes().delete(id) }
        }
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

        fun intent(context: Context, id: String) =
            Intent(context, EditNoteActivity::class.java).putExtra(EXTRA_ID, id)
    }
}
