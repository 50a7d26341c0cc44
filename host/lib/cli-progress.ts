/**
 * Progress for the command-line tools: a text bar (`fleet status` draws a
 * rollout with it) and a counter that redraws one line on a terminal
 * (`provision images`) and stays silent when the output is a file or pipe.
 */

/**
 * `[########xx----------]` of `width` cells: `#` for `good`, `x` for `bad`,
 * `-` for the rest of `total`.
 */
export function textBar(
    good: number,
    total: number,
    bad = 0,
    width = 20
): string {
    const cells = (n: number) =>
        total > 0
            ? Math.round((Math.min(Math.max(n, 0), total) * width) / total)
            : 0
    const x = cells(bad)
    const hash = Math.min(cells(good), width - x)
    return `[${"#".repeat(hash)}${"x".repeat(x)}${"-".repeat(width - hash - x)}]`
}

/** The parts of a stream a counter needs (process.stderr has them). */
export interface ProgressStream {
    isTTY?: boolean
    write(s: string): unknown
}

/**
 * Counts `label 3/10 [######--------------]` on one terminal line. `log()`
 * prints a line above it (to stdout), so output and counter do not mix.
 * Where `stream` is no terminal only the lines are printed.
 */
export class TtyProgress {
    private count = 0
    private readonly tty: boolean

    constructor(
        readonly label: string,
        readonly total: number,
        private readonly stream: ProgressStream = process.stderr,
        private readonly print: (line: string) => void = l => console.log(l)
    ) {
        this.tty = !!stream.isTTY
        this.draw()
    }

    private line(): string {
        return `${this.label} ${this.count}/${this.total} ${textBar(this.count, this.total)}`
    }

    private draw() {
        if (this.tty) this.stream.write(`\r\x1b[K${this.line()}`)
    }

    /** Prints `line` above the counter. */
    log(line: string) {
        if (this.tty) this.stream.write("\r\x1b[K")
        this.print(line)
        this.draw()
    }

    /** One more done. */
    tick() {
        this.count = Math.min(this.count + 1, this.total)
        this.draw()
    }

    /** Clears the counter's line. */
    end() {
        if (this.tty) this.stream.write("\r\x1b[K")
    }
}
