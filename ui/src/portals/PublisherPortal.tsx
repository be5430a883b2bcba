import { Route, Routes } from 'react-router';
import { PortalLayout } from '../components/PortalLayout';
import { NotFound } from '../components/NotFound';
import ApiList from '../features/apis/pages/ApiList';
import ApiCreate from '../features/apis/pages/ApiCreate';
import ApiImport from '../features/apis/pages/ApiImport';
import ApiDetail from '../features/apis/pages/ApiDetail';
import ProductCreate from '../features/governance/pages/ProductCreate';

export default function PublisherPortal() {
  return (
    <Routes>
      <Route
        element={
          <PortalLayout
            name="Publisher"
            links={[
              { to: '/publisher', label: 'APIs', end: true },
              { to: '/publisher/apis/new', label: 'Create API' },
              { to: '/publisher/apis/import', label: 'Import OpenAPI' },
              { to: '/publisher/products/new', label: 'Create API product' },
            ]}
          />
        }
      >
        <Route index element={<ApiList />} />
        <Route path="apis/new" element={<ApiCreate />} />
        <Route path="apis/import" element={<ApiImport />} />
        <Route path="products/new" element={<ProductCreate />} />
        <Route path="apis/:id" element={<ApiDetail />} />
        <Route path="apis/:id/:tab" element={<ApiDetail />} />
        <Route path="*" element={<NotFound />} />
      </Route>
    </Routes>
  );
}
