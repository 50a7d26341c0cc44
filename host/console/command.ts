/** The command line of `npm run console`: its options and help (see lib/args.ts). */
import type { CommandSpec } from "../lib/args.ts"

/** `npm run console`'s command line (its `--help` is made from it). */
export const CONSOLE_COMMAND = {
    usage: "npm run console -- [options]",
    summary: `A web console for the fleet: devices, rollouts and versions from the
fleet state (the same database as \`npm run fleet\`), and, with
--platform-admin, each device's readings as live charts. Prints its URL with
the access token, http://127.0.0.1:PORT/?token=...; every request needs the
token.`,
    options: {
        state: {
            type: "string",
            default: "state/fleet",
            value: "DIR",
            help: "the fleet's state directory (artifacts, control socket)",
        },
        db: {
            type: "string",
            value: "URL",
            help: "the fleet database: a PostgreSQL URL or a SQLite file (default DIR/fleet.db)",
        },
        port: {
            type: "string",
            value: "P",
            help: "TCP port; 0: a free one (default 7080)",
        },
        listen: {
            type: "string",
            default: "127.0.0.1",
            value: "ADDR",
            help: "address to listen on",
        },
        "platform-admin": {
            type: "string",
            value: "URL",
            help: "the emulator's admin API (e.g. http://127.0.0.1:8444), for readings",
        },
        "release-key": {
            type: "string",
            value: "PUB",
            help: "release public key to check signatures with (default the one fleet keygen wrote, when present)",
        },
        readings: {
            type: "string",
            value: "N",
            help: "readings kept per device (default 300)",
        },
    },
} as const satisfies CommandSpec
