package dev.accord.sample

import android.content.res.XmlResourceParser
import org.junit.Assert.assertEquals
import org.junit.Test
import org.junit.runner.RunWith
import org.robolectric.RobolectricTestRunner
import org.robolectric.RuntimeEnvironment
import org.robolectric.annotation.Config

/** Backups and device transfers leave the Accord database (device id, outbox) behind,
 * read from the resources aapt2 linked, as the device would read them. */
@RunWith(RobolectricTestRunner::class)
@Config(sdk = [35], application = TestNotesApp::class)
class BackupRulesTest {
    private val resources get() = RuntimeEnvironment.getApplication().resources

    /** (section, tag, domain, path) of every include/exclude in the file. */
    private fun rules(id: Int): List<List<String>> {
        val parser = resources.getXml(id)
        val found = mutableListOf<List<String>>()
        var section = ""
        while (parser.next() != XmlResourceParser.END_DOCUMENT) {
            if (parser.eventType != XmlResourceParser.START_TAG) continue
            when (parser.name) {
                "cloud-backup", "device-transfer", "full-backup-content" -> section = parser.name
                "include", "exclude" -> found += listOf(
                    section,
                    parser.name,
                    parser.getAttributeValue(null, "domain"),
                    parser.getAttributeValue(null, "path"),
                )
            }
        }
        return found
    }

    @Test
    fun cloudBackupAndDeviceTransferExcludeTheDatabase() {
        assertEquals(
            listOf(
                listOf("cloud-backup", "exclude", "database", "."),
                listOf("device-transfer", "exclude", "database", "."),
            ),
            rules(R.xml.data_extraction_rules),
        )
    }

    @Test
    fun autoBackupBeforeAndroid12ExcludesTheDatabase() {
        assertEquals(
            listOf(listOf("full-backup-content", "exclude", "database", ".")),
            rules(R.xml.backup_rules),
        )
    }
}
