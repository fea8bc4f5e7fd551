"""$title (catalog id $catalog_id)."""
