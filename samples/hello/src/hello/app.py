"""The sample function: greets, and says what Lambda told it about itself."""

import os
import time

STARTED = time.time()  # module-level code runs once per execution environment (the init phase)


def handler(event, context):
    name = event.get("name", "world")
    print(f"greeting {name}")
    return {
        "message": f"Hello, {name}!",
        "stage": os.environ["STAGE"],
        "function": context.function_name,
        "memory_limit_in_mb": int(context.memory_limit_in_mb),
        "remaining_ms": context.get_remaining_time_in_millis(),
        "environment_age_s": round(time.time() - STARTED, 3),
    }
