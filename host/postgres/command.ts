/** The command line of `npm run postgres`: its options and help (see lib/args.ts). */
import type { CommandSpec } from "../lib/args.ts"

/** `npm run postgres`'s command line (its `--help` is made from it). */
export const POSTGRES_COMMAND = {
    usage: "npm run postgres -- [options]",
    summary: `A local PostgreSQL in the foreground for trying the fleet on it, on
loopback with password authentication: prints the --db URL to use and how to
put the password (random, kept 0600 in DIR/password) in PGPASSWORD, and stops
the server on Ctrl-C / SIGTERM.`,
    options: {
        dir: {
            type: "string",
            default: "state/postgres",
            value: "DIR",
            help: "where its data lives",
        },
        port: {
            type: "string",
            value: "N",
            help: "TCP port on 127.0.0.1 (default a free one)",
        },
    },
} as const satisfies CommandSpec
