package dev.accord.sample

import android.app.Activity
import android.view.View

/** The view [id] of this activity's layout. The framework declares `findViewById`
 * nullable; a layout without the id is a bug in this app, said with the id's name. */
fun <T : View> Activity.view(id: Int): T =
    checkNotNull(findViewById(id)) { "the layout has no view ${resources.getResourceEntryName(id)}" }
