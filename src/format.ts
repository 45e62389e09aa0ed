// Formatting shared by the report, the job summary and the advice.

/** IEC units with one decimal, the same everywhere the action prints a size. */
export function humanBytes(n: number): string {
  const sign = n < 0 ? '-' : '';
  let v = Math.abs(n);
  const units = ['B', 'KiB', 'MiB', 'GiB'];
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return u === 0 ? `${sign}${v} B` : `${sign}${v.toFixed(1)} ${units[u]}`;
}
