import { useMemo } from 'react';
import { useQuery } from 'urql';
import { CopyButton } from '../../../components/CopyButton';
import { DevEnvironmentsQuery } from '../queries';

/**
 * Where consumers call an API on gateways with these base URLs, as the server builds
 * API.gatewayURLs: <base><context>/<version>, and <base><context> for the default version.
 */
export function apiGatewayURLs(bases: readonly string[], context: string, version: string, isDefault: boolean): string[] {
  const out: string[] = [];
  for (const b of bases) {
    const base = b.replace(/\/+$/, '') + context;
    out.push(`${base}/${version}`);
    if (isDefault) out.push(base);
  }
  return out;
}

export interface EnvironmentURLs {
  name: string;
  label: string;
  urls: string[];
}

export interface DeployedURLs {
  /** Per environment the API is deployed to; null while the environments are not listed yet. */
  byEnvironment: EnvironmentURLs[] | null;
  /** Every URL consumers may call: the environments' URLs, or the API's own gateway URLs. */
  all: string[];
}

/**
 * The gateway URLs of each environment the API is deployed to. Environments are listed to
 * anyone; until they are (or for an environment the list lacks) the API's own gateway URLs
 * stand in.
 */
export function useDeployedGatewayURLs(
  api: { context: string; version: string; isDefaultVersion: boolean; gatewayURLs: string[]; deployments: Array<{ environment: string }> } | null | undefined,
): DeployedURLs {
  const deployedTo = api?.deployments.map((d) => d.environment) ?? [];
  const [{ data }] = useQuery({ query: DevEnvironmentsQuery, pause: deployedTo.length === 0 });
  const envs = data?.environments;
  const key = deployedTo.join('\n');
  return useMemo(() => {
    if (!api) return { byEnvironment: null, all: [] };
    if (deployedTo.length === 0) return { byEnvironment: [], all: [] };
    const deployed = envs?.filter((e) => deployedTo.includes(e.name)) ?? [];
    if (!envs || deployed.length < deployedTo.length) return { byEnvironment: null, all: api.gatewayURLs };
    const byEnvironment = deployed.map((e) => ({
      name: e.name,
      label: e.displayName || e.name,
      urls: apiGatewayURLs(e.gatewayURLs, api.context, api.version, api.isDefaultVersion),
    }));
    return { byEnvironment, all: [...new Set(byEnvironment.flatMap((e) => e.urls))] };
    // deployedTo is rebuilt each render; `key` stands for it.
  }, [api, envs, key]);
}

function UrlList({ urls }: { urls: readonly string[] }) {
  return (
    <ul className="plain">
      {urls.map((u) => (
        <li key={u}>
          <code>{u}</code> <CopyButton value={u} label="Copy URL" />
        </li>
      ))}
    </ul>
  );
}

export function GatewayURLs({ deployed }: { deployed: DeployedURLs }) {
  const { byEnvironment, all } = deployed;
  if (byEnvironment?.length === 0) return <p className="muted">Not deployed to any gateway environment.</p>;
  if (!byEnvironment) return all.length === 0 ? <p className="muted">No gateway URL is configured.</p> : <UrlList urls={all} />;
  return (
    <div className="stack">
      {byEnvironment.map((env) => (
        <section key={env.name} aria-label={`Environment ${env.label}`}>
          <h3>{env.label}</h3>
          {env.urls.length === 0 ? <p className="muted">No gateway URL is configured.</p> : <UrlList urls={env.urls} />}
        </section>
      ))}
    </div>
  );
}
