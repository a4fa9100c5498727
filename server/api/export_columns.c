/*
 * export_columns — the CSV exports' columns (see export_columns.h).
 */
#include "server/api/export_columns.h"

#include <string.h>

#define COL(path, label)                                                                           \
	{                                                                                          \
		path, path, label                                                                  \
	}

const struct csvout_column export_listing_columns[EXPORT_LISTING_COLUMNS] = {
    COL("id", "Mã tin"),
    COL("kind", "Loại tin"),
    COL("status", "Trạng thái"),
    COL("owner.id", "Mã tài khoản"),
    COL("owner.name", "Người đăng"),
    COL("material.code", "Mã vật liệu"),
    COL("material.name_vi", "Vật liệu"),
    COL("grade", "Phẩm cấp"),
    COL("quantity.amount", "Số lượng"),
    COL("quantity.unit", "Đơn vị"),
    COL("quantity.base", "Số lượng (đơn vị gốc)"),
    COL("quantity.base_unit", "Đơn vị gốc"),
    COL("remaining.base", "Còn lại (đơn vị gốc)"),
    COL("allocated.base", "Đã ghép (đơn vị gốc)"),
    COL("price.vnd", "Giá (VND)"),
    COL("price.unit", "Đơn vị tính giá"),
    COL("price.factor", "Hệ số đơn vị giá"),
    COL("min_order.amount", "Đơn tối thiểu"),
    COL("min_order.unit", "Đơn vị đơn tối thiểu"),
    COL("accept_substitutes", "Nhận vật liệu thay thế"),
    COL("province.code", "Mã tỉnh"),
    COL("province.name", "Tỉnh"),
    COL("commune", "Xã/phường"),
    COL("location.lat", "Vĩ độ"),
    COL("location.lon", "Kinh độ"),
    COL("max_distance_km", "Khoảng cách tối đa (km)"),
    COL("needed_by", "Cần trước"),
    COL("available_from", "Có từ"),
    COL("available_until", "Có đến"),
    COL("forum", "Diễn đàn"),
    COL("after_forum", "Sau diễn đàn"),
    COL("note", "Ghi chú"),
    COL("version", "Phiên bản"),
    COL("created_at", "Tạo lúc"),
    COL("updated_at", "Cập nhật lúc"),
};

const struct csvout_column export_match_columns[EXPORT_MATCH_COLUMNS] = {
    COL("id", "Mã ghép"),
    COL("state", "Trạng thái"),
    COL("version", "Phiên bản"),
    COL("material.code", "Mã vật liệu"),
    COL("material.name_vi", "Vật liệu"),
    COL("quantity.base", "Số lượng (đơn vị gốc)"),
    COL("quantity.base_unit", "Đơn vị gốc"),
    COL("need.id", "Mã tin cần"),
    COL("need.owner", "Bên cần"),
    COL("need.province_code", "Mã tỉnh bên cần"),
    COL("need.province", "Tỉnh bên cần"),
    COL("offer.id", "Mã tin bán"),
    COL("offer.owner", "Bên bán"),
    COL("offer.province_code", "Mã tỉnh bên bán"),
    COL("offer.province", "Tỉnh bên bán"),
    COL("explain.unit_price.vnd", "Đơn giá (VND)"),
    COL("explain.unit_price.unit", "Đơn vị tính giá"),
    COL("explain.goods_total_vnd", "Tiền hàng (VND)"),
    COL("explain.distance_km", "Khoảng cách (km)"),
    COL("explain.freight.total_vnd", "Cước vận chuyển (VND)"),
    COL("explain.landed.total_vnd", "Tổng giá đến nơi (VND)"),
    COL("accepted.need", "Bên cần đã nhận"),
    COL("accepted.offer", "Bên bán đã nhận"),
    COL("delivered_base", "Đã giao (đơn vị gốc)"),
    COL("reviewed_by", "Người duyệt"),
    COL("reason", "Lý do"),
    COL("created_at", "Tạo lúc"),
    COL("updated_at", "Cập nhật lúc"),
    COL("approved_at", "Duyệt lúc"),
    COL("expires_at", "Hết hạn lúc"),
};

const struct csvout_column export_account_columns[EXPORT_ACCOUNT_COLUMNS] = {
    COL("id", "Mã tài khoản"),
    COL("role", "Vai trò"),
    COL("name", "Tên"),
    COL("province.code", "Mã tỉnh"),
    COL("province.name", "Tỉnh"),
    COL("commune", "Xã/phường"),
    COL("forum", "Diễn đàn"),
    COL("contact.phone", "Điện thoại"),
    COL("contact.email", "Email"),
    COL("contact.address", "Địa chỉ"),
    COL("scope.provinces", "Phạm vi tỉnh"),
    COL("scope.forums", "Phạm vi diễn đàn"),
    COL("suspended", "Tạm khóa"),
    COL("created_at", "Tạo lúc"),
};

static const struct csvout_column export_stats_dims[] = {
    COL("need_province", "Tỉnh bên cần"),
    COL("offer_province", "Tỉnh bên bán"),
    COL("material", "Vật liệu"),
    COL("forum", "Diễn đàn"),
    COL("month", "Tháng"),
};

const struct csvout_column *export_stats_dim_column(const char *dim)
{
	for (size_t i = 0; i < sizeof(export_stats_dims) / sizeof(export_stats_dims[0]); i++)
		if (strcmp(export_stats_dims[i].path, dim) == 0)
			return &export_stats_dims[i];
	return NULL;
}

const struct csvout_column export_stats_figure_columns[EXPORT_STATS_FIGURE_COLUMNS] = {
    COL("needs.count", "Số tin cần"),
    COL("needs.quantity", "Lượng cần (đơn vị gốc)"),
    COL("offers.count", "Số tin bán"),
    COL("offers.quantity", "Lượng bán (đơn vị gốc)"),
    COL("proposed.count", "Số đề xuất ghép"),
    COL("proposed.quantity", "Lượng đề xuất (đơn vị gốc)"),
    COL("confirmed.count", "Số ghép đã xác nhận"),
    COL("confirmed.quantity", "Lượng đã xác nhận (đơn vị gốc)"),
    COL("confirmed.value_vnd", "Giá trị đã xác nhận (VND)"),
    COL("confirmed.freight_vnd", "Cước vận chuyển (VND)"),
    COL("fulfilled.count", "Số lần giao hàng"),
    COL("fulfilled.quantity", "Lượng đã giao (đơn vị gốc)"),
    COL("fulfilled.value_vnd", "Giá trị đã giao (VND)"),
    COL("median_seconds_to_first_proposal", "Trung vị chờ đề xuất đầu tiên (giây)"),
    COL("fulfilment_rate", "Tỷ lệ hoàn thành"),
};

const struct csvout_column export_flow_columns[EXPORT_FLOW_COLUMNS] = {
    COL("offer_province", "Từ tỉnh"),
    COL("need_province", "Đến tỉnh"),
    COL("material", "Vật liệu"),
    COL("confirmed_quantity", "Lượng đã xác nhận (đơn vị gốc)"),
    COL("fulfilled_quantity", "Lượng đã giao (đơn vị gốc)"),
};
