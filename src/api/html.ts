/**
 * HTML built by a tagged template that escapes every interpolated value unless it is
 * already `Html` made by this template. Archived strings (builder ids, reasons, origins) are
 * attacker-influenced, so there is no other way to put text into a page.
 */

/** A fragment of trusted markup (only `html` and `joinHtml` make one). */
export class Html {
  private constructor(readonly text: string) {}

  /** @internal */
  static of(text: string): Html {
    return new Html(text);
  }

  toString(): string {
    return this.text;
  }
}

const ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
  '`': '&#96;',
};

/** Text → markup-safe text (element content and quoted attribute values). */
export function escapeHtml(value: string): string {
  return value.replace(/[&<>"'`]/g, (c) => ESCAPES[c]!);
}

type Interpolation = Html | string | number | boolean | null | undefined | Interpolation[];

function render(value: Interpolation): string {
  if (value === null || value === undefined || value === false) return '';
  if (value instanceof Html) return value.text;
  if (Array.isArray(value)) return value.map(render).join('');
  return escapeHtml(String(value));
}

/** Markup with every `${value}` escaped (arrays are concatenated, null/undefined/false omitted). */
export function html(strings: TemplateStringsArray, ...values: Interpolation[]): Html {
  let out = strings[0]!;
  values.forEach((value, i) => {
    out += render(value) + strings[i + 1]!;
  });
  return Html.of(out);
}

/** Joins fragments with a separator (escaped like any value). */
export function joinHtml(parts: Html[], separator = ''): Html {
  return Html.of(parts.map((p) => p.text).join(escapeHtml(separator)));
}
