# Runs after boot.py on every start. Everything lives in app.py (compiled to .mpy).
import app

app.main()
