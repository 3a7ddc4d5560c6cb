# What the node does with a message on its command topic. Commands must be signed and fresh;
# until command keys are provisioned (signed commands, firmware/updates and this room), every
# command is refused, counted and logged -- never obeyed.


class Commands:
    def __init__(self, log):
        self.log = log
        self.rejected = 0

    def on_message(self, topic, msg, retained):
        self.rejected += 1
        self.log.warning("cmd", "refused unsigned command on %s (%d bytes)" % (topic, len(msg)))
