# First file a MicroPython board runs. Kept tiny: a fault here would need a reflash to fix.
import gc

gc.collect()
