DROP TABLE IF EXISTS bus_store_info;
