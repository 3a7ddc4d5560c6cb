# The node's command task: runs what commands.py accepted, one at a time, and sends every
# result (accepted, refused, done, failed) on <root>/<id>/cmd/result when the broker is there.
# The operations themselves (ops.py) are imported when there is one to run, then dropped.
import asyncio

from commands import drop


async def serve(node):
    cmds = node.commands
    while True:
        await asyncio.sleep_ms(100)
        if node.link.connected:  # a command waits 100 ms at most (the publisher looks once a s)
            node.link.mqtt.check_msg()
        while cmds.todo:
            await _flush(node)  # "accepted" leaves before a long operation starts
            seq, op, args = cmds.todo.pop(0)
            cmds.running = seq
            import ops

            try:
                detail, restart = await ops.run(node, op, args)
            except (ValueError, KeyError, TypeError, OSError) as e:
                cmds.result(seq, op, "failed", str(e) or repr(e))
                continue
            finally:
                drop(ops.MODULES)
            cmds.done += 1
            cmds.result(seq, op, "done", detail)
            if restart:
                await _flush(node)
                node.board.reset()  # after the result has left, or is at least on its way
        await _flush(node)


async def _flush(node):
    cmds = node.commands
    while cmds.results and node.link.connected:
        try:
            await node.link.mqtt.publish(node.link.result_topic, cmds.results[0], qos=1)
        except (OSError, MemoryError, Exception) as e:  # kept for the next connection
            node.log.warning("cmd", "result not sent: %r" % e)
            return
        cmds.results.pop(0)


def inbound(node, topic, msg, retained):
    """The link's messages: update pieces to the updater, everything else is a command."""
    if topic == node.link.data_in_topic:
        if node.updates is not None:  # an install or a trial is asking for pieces
            node.updates.on_data(msg)
    else:
        node.commands.on_message(topic, msg, retained)
