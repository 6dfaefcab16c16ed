"""The dashboard page (HTML, CSS, JS and SVG charts served from the package) and its live socket."""
