/* config: to be written */
