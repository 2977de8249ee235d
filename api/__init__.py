"""Flask blueprints mounted on the Dash server: health now; the JSON API, downloads and Open311 later."""
