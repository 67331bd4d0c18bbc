/**
 * The key patterns of `@OnKeyChange` and `watch`: `*` matches any run of characters (`:` included), `?` one
 * character, and `\` makes the next character literal (`'what\\?'` is the key `what?`); everything else is
 * literal. So a pattern without wildcards is one exact key, and `'user:*'` is every key with that prefix.
 */
export function globToRegExp(pattern: string): RegExp {
  let source = '';
  let escaped = false;
  for (const char of pattern) {
    if (escaped) source += literal(char);
    else if (char === '\\') {
      escaped = true;
      continue;
    } else if (char === '*') source += '.*';
    else if (char === '?') source += '.';
    else source += literal(char);
    escaped = false;
  }
  if (escaped) source += literal('\\');
  return new RegExp(`^${source}$`, 's');
}

function literal(char: string): string {
  return char.replace(/[.*?+^${}()|[\]\\]/g, '\\$&');
}
