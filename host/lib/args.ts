/**
 * One way to read a command line for every CLI: a table of the command's
 * options (Node's `parseArgs` options, each with the line that says what it
 * is for) that both parses the command line and writes the `--help` text.
 * Each CLI exports its table, so a reference page can be generated from it.
 */
import { parseArgs, type ParseArgsConfig } from "node:util"

/** Node's config of one option (`type`, `short`, `multiple`, `default`). */
type ParseArgsOption = NonNullable<ParseArgsConfig["options"]>[string]

/** One option: Node's `parseArgs` config and its help. */
export interface OptionSpec extends ParseArgsOption {
    /** What the option is for, in one line. */
    help: string
    /** The value's name in the help text, e.g. `N`, `DIR`, `URL`. */
    value?: string
}

/** A command line: how it is called, what it does and its options. */
export interface CommandSpec {
    /** How it is called, e.g. `npm run console -- [options]`. */
    usage: string
    /** What it does: the help text's paragraph under the usage line. */
    summary: string
    /** The options (`--help` is added to every command). */
    options: Record<string, OptionSpec>
    /** Whether it takes positional arguments (they are named in `usage`). */
    positionals?: boolean
    /** Text after the options: subcommands, files, limits. */
    notes?: string
}

/** A command line that is not understood. */
export class UsageError extends Error {}

const HELP = { type: "boolean", help: "print this text" } as const

/**
 * Parses `argv` (default: this process's arguments) by `spec`'s table:
 * unknown options, a missing value and positional arguments that the
 * command does not take are a {@link UsageError}.
 */
export function parseCommandLine<const O extends Record<string, OptionSpec>>(
    spec: { options: O; positionals?: boolean },
    argv = process.argv.slice(2)
): ParsedCommandLine<O> {
    try {
        return parseArgs<ParseConfig<O>>({
            args: argv,
            options: { ...spec.options, help: HELP },
            allowPositionals: spec.positionals ?? false,
            strict: true,
        })
    } catch (e) {
        throw new UsageError((e as Error).message)
    }
}

/** What `parseArgs` is given for a table `O`. */
type ParseConfig<O extends Record<string, OptionSpec>> = {
    args: string[]
    options: O & { help: typeof HELP }
    allowPositionals: boolean
    strict: true
}

/** The values and positionals of a command line parsed by table `O`. */
export type ParsedCommandLine<O extends Record<string, OptionSpec>> =
    ReturnType<typeof parseArgs<ParseConfig<O>>>

/** `--name VALUE` (or `--name` for a flag), as the help text shows it. */
export function optionSyntax(name: string, o: OptionSpec): string {
    const flag = o.short ? `-${o.short}, --${name}` : `--${name}`
    if (o.type === "boolean") return flag
    return `${flag} ${o.value ?? "VALUE"}${o.multiple ? " (repeatable)" : ""}`
}

/** The help line of an option, with its default when it has one. */
export function optionHelp(o: OptionSpec): string {
    const dflt =
        o.default === undefined || o.default === false || o.default === ""
            ? ""
            : ` (default ${Array.isArray(o.default) ? o.default.join(", ") : o.default})`
    return o.help + dflt
}

/** The `--help` text of a command, made from its table. */
export function helpText(spec: CommandSpec): string {
    const options = { ...spec.options, help: HELP }
    const rows = Object.entries(options).map(([name, o]) => [
        optionSyntax(name, o),
        optionHelp(o),
    ])
    const width = Math.min(34, Math.max(...rows.map(([s]) => s.length)) + 2)
    const lines = rows.map(([s, h]) =>
        s.length + 2 > width
            ? `  ${s}\n  ${" ".repeat(width)}${h}`
            : `  ${s.padEnd(width)}${h}`
    )
    return [
        `usage: ${spec.usage}`,
        "",
        spec.summary.trim(),
        "",
        "options:",
        ...lines,
        ...(spec.notes ? ["", spec.notes.trim()] : []),
    ].join("\n")
}

/**
 * A CLI's command line read by `spec`'s table, as every CLI does it: a
 * command line that is not understood prints `name: why` and the help on
 * stderr and exits 2; `--help` prints the help and exits 0.
 */
export function readCommandLine<const O extends Record<string, OptionSpec>>(
    spec: CommandSpec & { options: O },
    name: string,
    argv = process.argv.slice(2)
): ParsedCommandLine<O> {
    let parsed: ParsedCommandLine<O>
    try {
        parsed = parseCommandLine(spec, argv)
    } catch (e) {
        console.error(`${name}: ${(e as Error).message}\n${helpText(spec)}`)
        process.exit(2)
    }
    if ((parsed.values as { help?: boolean }).help) {
        console.log(helpText(spec))
        process.exit(0)
    }
    return parsed
}
