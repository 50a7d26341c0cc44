/** The command line of `npm run docs`: its options and help (see lib/args.ts). */
import type { CommandSpec } from "../lib/args.ts"

/** `npm run docs`'s command line (its `--help` is made from it). */
export const DOCS_COMMAND = {
    usage: "npm run docs -- [options]",
    summary: `Writes the generated reference pages: docs/reference/settings.md (from
src/settings-schema.ts) and docs/reference/cli.md (from each CLI's option
table or usage text).`,
    options: {
        check: {
            type: "boolean",
            default: false,
            help: "write nothing; exit 1 when a page is out of date",
        },
    },
} as const satisfies CommandSpec
