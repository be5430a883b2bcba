export function Badge({ children, tone }: { children: string; tone?: string }) {
  return <span className={`badge badge-${(tone ?? children).toLowerCase().replace(/[^a-z0-9]+/g, '-')}`}>{children}</span>;
}

export function MethodBadge({ method }: { method: string }) {
  return <span className={`method method-${method.toLowerCase()}`}>{method}</span>;
}
