/** The command line of `npm run bench`: its options and help (see lib/args.ts). */
import type { CommandSpec } from "../lib/args.ts"

/** The sections a plain `npm run bench` measures. */
export const DEFAULT_SECTIONS: string[] = [
    "hashing",
    "step-limit",
    "channel",
    "battery",
    "bytecode",
]

/** Every section, `fleet` only when asked (it takes minutes). */
export const SECTIONS = [...DEFAULT_SECTIONS, "fleet"]

/** `npm run bench`'s command line (its `--help` is made from it). */
export const BENCH_COMMAND = {
    usage: "npm run bench [-- [SECTION...] [options]]",
    summary: `The project's performance figures, measured now on this machine. Sections:
${DEFAULT_SECTIONS.join(", ")} (default: all of these), and fleet, only when
asked (it takes minutes). Speed is measured here, never asserted in tests.`,
    positionals: true,
    options: {
        devices: {
            type: "string",
            default: "100",
            value: "N",
            help: "fleet: how many fake devices",
        },
        db: {
            type: "string",
            value: "URL",
            help: "fleet: the service's database (default a SQLite file in a temporary state)",
        },
        instances: {
            type: "string",
            default: "1",
            value: "N",
            help: "fleet: fleet serve instances on the one database, each device on instance i mod N",
        },
        "max-deploys": {
            type: "string",
            value: "K",
            help: "fleet: the service's --max-deploys",
        },
    },
} as const satisfies CommandSpec
