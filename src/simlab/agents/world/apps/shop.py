"""``shop``: a product catalogue, your cart, orders, reviews and wish list."""

from __future__ import annotations

from typing import Any

from simlab.agents.world.api import Annotated, ApiError, Length, OneOf, Range, api
from simlab.agents.world.apps.base import AccountApp, like

__all__ = ["Shop"]

Quantity = Annotated[int, Range(1, 10)]


class Shop(AccountApp):
    name = "shop"
    description = "An online shop: search products, fill your cart, order, review, wish list."

    def _product(self, product_id: int) -> dict[str, Any]:
        return self.row("shop_products", product_id, "product")

    @api(paginated=True)
    def search_products(
        self,
        *,
        query: str = "",
        category: str | None = None,
        max_price: Annotated[float | None, Range(0)] = None,
        sort_by: Annotated[str, OneOf("id", "price", "rating")] = "id",
    ) -> list[dict[str, Any]]:
        """Search products by name or brand.

        query: Text to match ("" matches all).
        category: Only this category.
        max_price: Only products costing at most this many dollars.
        sort_by: "id", "price" (cheapest first) or "rating" (best first).
        Returns: [{id, name, category, brand, price, stock, rating}]
        """
        q = like(query)
        sql = "SELECT * FROM shop_products WHERE (lower(name) LIKE ? OR lower(brand) LIKE ?)"
        args: list[Any] = [q, q]
        if category is not None:
            sql += " AND category = ?"
            args.append(category)
        if max_price is not None:
            sql += " AND price <= ?"
            args.append(max_price)
        order = {"id": "id", "price": "price, id", "rating": "rating DESC, id"}[sort_by]
        return self.rows(f"{sql} ORDER BY {order}", *args)

    @api()
    def show_product(self, *, product_id: int) -> dict[str, Any]:
        """Show a product.

        product_id: The product's id.
        Returns: {id, name, category, brand, price, stock, rating}
        """
        return self._product(product_id)

    @api()
    def show_categories(self) -> list[str]:
        """List the product categories.

        Returns: [str]
        """
        return [
            r["category"]
            for r in self.rows("SELECT DISTINCT category FROM shop_products ORDER BY category")
        ]

    @api()
    def show_cart(self) -> dict[str, Any]:
        """Show your cart and its total.

        Returns: {items: [{product_id, name, price, quantity}], total}
        """
        items = self.rows(
            "SELECT c.product_id, p.name, p.price, c.quantity FROM shop_cart c "
            "JOIN shop_products p ON p.id = c.product_id ORDER BY c.product_id"
        )
        return {"items": items, "total": round(sum(i["price"] * i["quantity"] for i in items), 2)}

    @api("POST")
    def add_to_cart(self, *, product_id: int, quantity: Quantity = 1) -> dict[str, Any]:
        """Add a product to your cart (adds to the quantity already there).

        product_id: The product's id.
        quantity: How many.
        Returns: {message}
        """
        p = self._product(product_id)
        have = self.scalar("SELECT quantity FROM shop_cart WHERE product_id = ?", product_id) or 0
        if have + quantity > p["stock"]:
            raise ApiError(400, f"only {p['stock']} of product {product_id} in stock")
        if have:
            self.update("shop_cart", {"product_id": product_id}, quantity=have + quantity)
        else:
            self.insert(
                "shop_cart", product_id=product_id, quantity=quantity, added_at=self.stamp()
            )
        return {"message": "Added to cart."}

    @api("PUT")
    def update_cart_item(self, *, product_id: int, quantity: Quantity) -> dict[str, Any]:
        """Set the quantity of a product in your cart.

        product_id: The product's id.
        quantity: The new quantity.
        Returns: {message}
        """
        p = self._product(product_id)
        if not self.scalar("SELECT 1 FROM shop_cart WHERE product_id = ?", product_id):
            raise ApiError(404, f"product {product_id} is not in your cart")
        if quantity > p["stock"]:
            raise ApiError(400, f"only {p['stock']} of product {product_id} in stock")
        self.update("shop_cart", {"product_id": product_id}, quantity=quantity)
        return {"message": "Cart updated."}

    @api("DELETE")
    def remove_from_cart(self, *, product_id: int) -> dict[str, Any]:
        """Remove a product from your cart.

        product_id: The product's id.
        Returns: {message}
        """
        if not self.delete("shop_cart", product_id=product_id):
            raise ApiError(404, f"product {product_id} is not in your cart")
        return {"message": "Removed from cart."}

    @api("DELETE")
    def clear_cart(self) -> dict[str, Any]:
        """Empty your cart.

        Returns: {message}
        """
        self.db.execute("DELETE FROM shop_cart")
        return {"message": "Cart emptied."}

    @api("POST")
    def place_order(self, *, address_id: int, card_id: int) -> dict[str, Any]:
        """Order everything in your cart, shipped to a saved address and paid by a saved card.

        address_id: Id from supervisor.show_addresses.
        card_id: Id from supervisor.show_payment_cards.
        Returns: {order_id, total}
        """
        if not self.scalar("SELECT 1 FROM supervisor_addresses WHERE id = ?", address_id):
            raise ApiError(404, f"no address with id {address_id}")
        if not self.scalar("SELECT 1 FROM supervisor_cards WHERE id = ?", card_id):
            raise ApiError(404, f"no payment card with id {card_id}")
        cart = self.show_cart()
        if not cart["items"]:
            raise ApiError(400, "your cart is empty")
        oid = self.insert(
            "shop_orders",
            address_id=address_id,
            card_id=card_id,
            total=cart["total"],
            status="placed",
            created_at=self.stamp(),
        )
        for i in cart["items"]:
            self.insert(
                "shop_order_items",
                order_id=oid,
                product_id=i["product_id"],
                quantity=i["quantity"],
                price=i["price"],
            )
            self.db.execute(
                "UPDATE shop_products SET stock = stock - ? WHERE id = ?",
                (i["quantity"], i["product_id"]),
            )
        self.db.execute("DELETE FROM shop_cart")
        return {"order_id": oid, "total": cart["total"]}

    @api(paginated=True)
    def show_orders(
        self, *, status: Annotated[str | None, OneOf("placed", "delivered", "cancelled")] = None
    ) -> list[dict[str, Any]]:
        """Show your orders, newest first.

        status: Only orders with this status.
        Returns: [{id, address_id, card_id, total, status, created_at}]
        """
        sql, args = "SELECT * FROM shop_orders", []
        if status is not None:
            sql += " WHERE status = ?"
            args.append(status)
        return self.rows(sql + " ORDER BY created_at DESC, id DESC", *args)

    @api()
    def show_order(self, *, order_id: int) -> dict[str, Any]:
        """Show an order with its items.

        order_id: The order's id.
        Returns: {id, address_id, card_id, total, status, created_at, items}
        """
        o = self.row("shop_orders", order_id, "order")
        o["items"] = self.rows(
            "SELECT i.product_id, p.name, i.quantity, i.price FROM shop_order_items i "
            "JOIN shop_products p ON p.id = i.product_id WHERE i.order_id = ? "
            "ORDER BY i.product_id",
            order_id,
        )
        return o

    @api("PUT")
    def cancel_order(self, *, order_id: int) -> dict[str, Any]:
        """Cancel an order that is not delivered yet (restocks its items).

        order_id: The order's id.
        Returns: {message}
        """
        o = self.row("shop_orders", order_id, "order")
        if o["status"] != "placed":
            raise ApiError(409, f"order {order_id} is {o['status']} and cannot be cancelled")
        for i in self.rows("SELECT * FROM shop_order_items WHERE order_id = ?", order_id):
            self.db.execute(
                "UPDATE shop_products SET stock = stock + ? WHERE id = ?",
                (i["quantity"], i["product_id"]),
            )
        self.update("shop_orders", {"id": order_id}, status="cancelled")
        return {"message": "Order cancelled."}

    @api(paginated=True)
    def show_reviews(self, *, product_id: int) -> list[dict[str, Any]]:
        """Show a product's reviews, newest first.

        product_id: The product's id.
        Returns: [{id, product_id, author, rating, body, created_at}]
        """
        self._product(product_id)
        return self.rows(
            "SELECT * FROM shop_reviews WHERE product_id = ? ORDER BY created_at DESC, id DESC",
            product_id,
        )

    @api("POST")
    def write_review(
        self,
        *,
        product_id: int,
        rating: Annotated[int, Range(1, 5)],
        body: Annotated[str, Length(1, 1000)],
    ) -> dict[str, Any]:
        """Review a product you ordered.

        product_id: The product's id.
        rating: Stars from 1 to 5.
        body: The review text.
        Returns: {review_id}
        """
        self._product(product_id)
        if not self.scalar("SELECT 1 FROM shop_order_items WHERE product_id = ?", product_id):
            raise ApiError(403, f"you can only review products you ordered; not {product_id}")
        me = f"{self.user['first_name']} {self.user['last_name']}"
        if self.scalar(
            "SELECT 1 FROM shop_reviews WHERE product_id = ? AND author = ?", product_id, me
        ):
            raise ApiError(409, f"you already reviewed product {product_id}")
        rid = self.insert(
            "shop_reviews",
            product_id=product_id,
            author=me,
            rating=rating,
            body=body,
            created_at=self.stamp(),
        )
        return {"review_id": rid}

    @api(paginated=True)
    def show_wishlist(self) -> list[dict[str, Any]]:
        """Show your wish list, most recently added first.

        Returns: [{added_at, id, name, category, brand, price, stock, rating}]
        """
        return self.rows(
            "SELECT w.added_at, p.* FROM shop_wishlist w "
            "JOIN shop_products p ON p.id = w.product_id "
            "ORDER BY w.added_at DESC, p.id"
        )

    @api("POST")
    def add_to_wishlist(self, *, product_id: int) -> dict[str, Any]:
        """Add a product to your wish list.

        product_id: The product's id.
        Returns: {message}
        """
        self._product(product_id)
        if self.scalar("SELECT 1 FROM shop_wishlist WHERE product_id = ?", product_id):
            raise ApiError(409, f"product {product_id} is already on your wish list")
        self.insert("shop_wishlist", product_id=product_id, added_at=self.stamp())
        return {"message": "Added to wish list."}

    @api("DELETE")
    def remove_from_wishlist(self, *, product_id: int) -> dict[str, Any]:
        """Remove a product from your wish list.

        product_id: The product's id.
        Returns: {message}
        """
        if not self.delete("shop_wishlist", product_id=product_id):
            raise ApiError(404, f"product {product_id} is not on your wish list")
        return {"message": "Removed from wish list."}
